"""Webhooks: the account's subscriptions to SMS and device events."""
