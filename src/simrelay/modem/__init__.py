"""The device side for USB GSM modems: the SMS PDU codec, later the AT driver and `simrelay modem`.

Like `agent/` and `client/`, this package never imports the server's modules: the host reaches
the server only over the device protocol, so it can run on a small box beside the modems.
"""
