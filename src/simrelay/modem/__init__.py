"""The device side for GSM modems: the AT/PDU driver and the `simrelay modem` host.

Never imports server modules.
"""
