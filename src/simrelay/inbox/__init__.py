"""Inbox: SMS received by the account's devices, and the numbers that opted out of SMS."""
