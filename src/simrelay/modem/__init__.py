"""The device side for USB GSM modems: the AT/PDU driver and the `simrelay modem` host, and
the pure codecs they stand on.

`at` is the AT command channel (unsolicited codes told from answers), `port` opens the serial
port, `commands` the modem's operations on it. `pdu` encodes SMS-SUBMIT and decodes
SMS-DELIVER and SMS-STATUS-REPORT (with `fields` and `gsm7` beneath it), `pdu_build` builds
what a modem hands up for tests and fake modems, `reassembly` joins concatenated parts, `ussd`
handles AT+CUSD strings, `state` is the host's state file.

The host: `host` runs each modem as its own device (a `DeviceLink` from `agent/` over a
`radio.ModemRadio`), `radio` sends and turns status reports into `delivery` reports, `inbox`
reports incoming SMS and deletes them after the server's ack, `dialer` answers USSD requests,
`reasons` words +CMS errors, `discovery` finds ports and modems by IMEI, `watch` finds modems
plugged in later. Like `agent/` and `client/`, this package never imports the server's modules
(import-linter holds it to that).
"""
