"""The GoSMS-compatible JSON API: thin routes over the feature services."""
