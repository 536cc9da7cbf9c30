"""Devices: the phones and modem hosts that send an account's SMS."""
