"""SMPP 3.4: the PDU codec (`pdu`, with `fields`, `tlv` and `codes` beneath it), message text
(`text`), delivery receipts (`receipt`) and SMPP time strings (`times`). Pure, no I/O; the
server's sessions and the routes to carriers stand on it."""
