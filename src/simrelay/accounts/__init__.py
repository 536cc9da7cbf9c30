"""Accounts, their API keys, and the lookups that authenticate a request."""
