"""Why a send failed, in words an account holder can act on: +CMS ERROR numbers (3GPP TS 27.005
§3.2.5, and the network's cause values 24.011 E-2 that modems pass through below 128) and the
few +CME ERROR numbers a send can end with. The number always stays in the reason."""

from __future__ import annotations

from simrelay.modem.results import AtError, ErrorKind

CMS_REASONS = {
    1: "unassigned number",
    8: "operator determined barring",
    10: "call barred",
    21: "short message transfer rejected",
    27: "destination out of service",
    28: "unidentified subscriber",
    29: "facility rejected",
    30: "unknown subscriber",
    38: "network out of order",
    41: "temporary failure",
    42: "congestion",
    47: "resources unavailable",
    50: "requested facility not subscribed",
    69: "requested facility not implemented",
    96: "invalid message",
    111: "protocol error",
    300: "modem failure",
    301: "SMS service of the modem reserved",
    302: "operation not allowed",
    303: "operation not supported",
    304: "invalid PDU mode parameter",
    310: "SIM not inserted",
    311: "SIM PIN required",
    313: "SIM failure",
    314: "SIM busy",
    315: "SIM wrong",
    316: "SIM PUK required",
    320: "memory failure",
    322: "memory full",
    330: "SMSC address unknown",
    331: "no network service",
    332: "network timeout",
    340: "no +CNMA acknowledgement expected",
    500: "unknown error",
}
CME_REASONS = {
    3: "operation not allowed",
    10: "SIM not inserted",
    13: "SIM failure",
    30: "no network service",
    31: "network timeout",
    100: "unknown error",
}

MAY_HAVE_BEEN_SENT = "modem did not answer while sending (may have been sent)"
PORT_LOST_WHILE_SENDING = "modem disappeared while sending (may have been sent)"


def describe_error(error: AtError) -> str:
    """`+CMS ERROR 42: congestion`; a plain ERROR (modem without +CMEE) says just that."""
    if error.kind in (ErrorKind.CMS, ErrorKind.CME) and error.code is not None:
        table = CMS_REASONS if error.kind is ErrorKind.CMS else CME_REASONS
        words = table.get(error.code) or error.text or "error"
        if words.isdigit():
            words = "error"
        return f"{error.kind.value} {error.code}: {words}"
    if error.kind in (ErrorKind.CMS, ErrorKind.CME):
        return f"{error.kind.value}: {error.text}"
    return f"modem answered {error.kind.value}"


def send_failure(error: AtError, *, sent_parts: int, parts: int) -> str:
    """The `failed` reason for an SMS whose part `sent_parts + 1` of `parts` was refused."""
    reason = describe_error(error)
    if sent_parts:
        return f"{reason} (part {sent_parts + 1} of {parts}; {sent_parts} part(s) went out)"
    return reason
