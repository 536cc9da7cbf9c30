"""The panel: server-rendered pages under /panel for people (issue 6 is building it out)."""
