"""The panel: server-rendered pages under /panel for people. Sign-in and sign-up, the overview
and the account's settings, API keys, devices and their pairing, the SMS log with its send form,
webhooks and their deliveries, the inbox, usage, and the admin page; routes.py lists them all."""
