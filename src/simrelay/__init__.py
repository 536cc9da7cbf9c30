"""simrelay: a self-hosted SMS gateway with a GoSMS-compatible HTTP API."""

__version__ = "0.1.0"
