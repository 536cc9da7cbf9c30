"""Campaigns: one message template sent to many recipients, each as a normal SMS."""
