"""What a modem says, parsed: final result codes, +CME/+CMS errors, URCs and AT parameter lists.

Pure functions and values, no I/O; `at.py` feeds them lines. Numbers and texts: 3GPP TS 27.007
§9.2 (+CME ERROR) and TS 27.005 §3.2.5 (+CMS ERROR); URC names from the families' manuals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

AtValue = str | int


class ErrorKind(StrEnum):
    """Which final result code ended a command in failure."""

    ERROR = "ERROR"  # plain V.25ter ERROR (or +CMEE=0)
    CME = "+CME ERROR"  # equipment error, 27.007 §9.2
    CMS = "+CMS ERROR"  # SMS error, 27.005 §3.2.5
    NO_CARRIER = "NO CARRIER"  # call or USSD session ended (some firmwares end a CUSD with it)
    BUSY = "BUSY"
    NO_ANSWER = "NO ANSWER"
    NO_DIALTONE = "NO DIALTONE"
    NOT_SUPPORTED = "COMMAND NOT SUPPORT"  # Huawei's answer to a command it does not know


class AtError(Exception):
    """A command ended in an error final result code. `code` is the +CME/+CMS number (looked up
    from the verbose text when the modem sent words), None for plain ERROR and the like."""

    def __init__(self, code: int | None, text: str, *, kind: ErrorKind, command: str = "") -> None:
        self.code = code
        self.text = text
        self.kind = kind
        self.command = command
        number = f" {code}" if code is not None else ""
        super().__init__(f"{command or 'command'} failed: {kind}{number} ({text})")


# Verbose forms (+CMEE=2) of the errors a gateway meets; the rest keep code None and their text.
_CME_TEXTS = {
    "phone failure": 0,
    "operation not allowed": 3,
    "operation not supported": 4,
    "sim not inserted": 10,
    "sim pin required": 11,
    "sim puk required": 12,
    "sim failure": 13,
    "sim busy": 14,
    "sim wrong": 15,
    "incorrect password": 16,
    "memory full": 20,
    "invalid index": 21,
    "not found": 22,
    "memory failure": 23,
    "no network service": 30,
    "network timeout": 31,
    "unknown": 100,
}
_CMS_TEXTS = {
    "me failure": 300,
    "sms service of me reserved": 301,
    "operation not allowed": 302,
    "operation not supported": 303,
    "invalid pdu mode parameter": 304,
    "invalid text mode parameter": 305,
    "sim not inserted": 310,
    "sim pin required": 311,
    "sim failure": 313,
    "sim busy": 314,
    "sim wrong": 315,
    "sim puk required": 316,
    "memory failure": 320,
    "invalid memory index": 321,
    "memory full": 322,
    "smsc address unknown": 330,
    "no network service": 331,
    "network timeout": 332,
    "no +cnma acknowledgement expected": 340,
    "unknown error": 500,
}

_SUCCESS_FINALS = frozenset({"OK", "CONNECT"})
_FAILURE_FINALS = {kind.value: kind for kind in ErrorKind if kind not in (ErrorKind.CME, ErrorKind.CMS)}


@dataclass(frozen=True, slots=True)
class Final:
    """A final result code: `error` is None for OK (and CONNECT)."""

    line: str
    error: AtError | None


def parse_final(line: str, command: str = "") -> Final | None:
    """The final result code on this line, or None if the line is not one."""
    if line in _SUCCESS_FINALS:
        return Final(line, None)
    if line in _FAILURE_FINALS:
        return Final(line, AtError(None, line, kind=_FAILURE_FINALS[line], command=command))
    for kind, texts in ((ErrorKind.CME, _CME_TEXTS), (ErrorKind.CMS, _CMS_TEXTS)):
        if line.startswith(kind.value + ":"):
            detail = line[len(kind.value) + 1 :].strip()
            code = int(detail) if detail.isdigit() else texts.get(detail.lower())
            return Final(line, AtError(code, detail, kind=kind, command=command))
    return None


def split_values(text: str) -> tuple[AtValue, ...]:
    """An AT parameter list: commas outside quotes separate, quotes are removed, bare numbers
    become ints (a quoted number stays a string: "46000" is an operator code, not a count)."""
    values: list[AtValue] = []
    current: list[str] = []
    quoted = False
    was_quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
            was_quoted = True
        elif char == "," and not quoted:
            values.append(_value("".join(current).strip(), was_quoted))
            current, was_quoted = [], False
        else:
            current.append(char)
    values.append(_value("".join(current).strip(), was_quoted))
    return tuple(values)


def _value(token: str, was_quoted: bool) -> AtValue:
    if not was_quoted and token.isdigit():
        return int(token)
    return token


def answer_body(line: str, prefix: str) -> str:
    """The text after `prefix:` (the space after the colon is optional: Huawei leaves it out)."""
    return line[len(prefix) + 1 :].strip() if line.startswith(prefix + ":") else line


@dataclass(frozen=True, slots=True)
class Urc:
    """An unsolicited result code. `name` is what precedes the colon (`+CMTI`, `^RSSI`) or the whole
    line (`RING`, `Call Ready`); `pdu` is the second line of the two-line ones (+CMT, +CDS, +CBM):
    the hex PDU in PDU mode, the data line (text, or hex) of a text-mode +CMT or +CBM."""

    name: str
    values: tuple[AtValue, ...]
    line: str
    pdu: str | None = None


# Names a modem sends on its own. `+CPIN`, `+CUSD`, `+CREG`, `+CFUN` and `^RSSI` are also the
# answers to their read commands: the channel takes them as answers while that command runs.
URC_PREFIXES = frozenset(
    {
        "+CMTI", "+CMT", "+CDS", "+CDSI", "+CBM", "+CBMI", "+CUSD", "+CREG", "+CGREG", "+CEREG",
        "+CRING", "+CLIP", "+CCWA", "+CIEV", "+CGEV", "+CFUN", "+CPIN", "+CSQN", "+CTZV", "+CTZE",
        "+CMTE", "+CSMINS", "*PSUTTZ", "DST",
        "^RSSI", "^HCSQ", "^BOOT", "^MODE", "^SRVST", "^SIMST", "^SYSSTART", "^DSFLOWRPT", "^CEND",
        "^ORIG", "^CONF", "^CONN", "^STIN", "^NWTIME", "^EARST", "^RFSWITCH",
        "+QIND", "+QUSIM", "+QIURC", "+QSIMSTAT", "+QNETDEVSTATUS",
    }
)  # fmt: skip
URC_LINES = frozenset(
    {
        "RING", "RDY", "Call Ready", "SMS Ready", "NORMAL POWER DOWN", "UNDER-VOLTAGE POWER DOWN",
        "UNDER-VOLTAGE WARNNING", "OVER-VOLTAGE POWER DOWN", "OVER-VOLTAGE WARNNING", "POWERED DOWN",
    }
)  # fmt: skip
# Two-line URCs: a header with the TPDU length last, then the PDU on its own line (27.005 §3.4.1).
# In text mode +CMT and +CBM are a header and a data line, +CDS a single line (see `data_follows`).
TWO_LINE_URCS = frozenset({"+CMT", "+CDS", "+CBM"})

_NAME = re.compile(r"^([+^*$%!]?[A-Za-z][A-Za-z0-9_]*):")


def urc_name(line: str) -> str | None:
    """The URC name if this line is a known unsolicited result code, else None."""
    if line in URC_LINES:
        return line
    match = _NAME.match(line)
    if match and match.group(1) in URC_PREFIXES:
        return match.group(1)
    return None


def parse_urc(line: str, name: str | None = None) -> Urc:
    """Any line as a `Urc`; an unknown one keeps its text before a colon (or all of it) as name."""
    if name is None:
        match = _NAME.match(line)
        name = match.group(1) if match else line
    if name == line:
        return Urc(name, (), line)
    return Urc(name, split_values(answer_body(line, name)), line)


_HEX = re.compile(r"^(?:[0-9A-Fa-f]{2})+$")


def pdu_fits(line: str, tpdu_length: int) -> bool:
    """Whether `line` is the hex PDU of a `+CMT`/`+CMGL`-style header giving `tpdu_length` octets:
    the TPDU alone, or prefixed by the SMSC address (its own length octet first, 27.005 §3.1)."""
    if not _HEX.match(line):
        return False
    octets = len(line) // 2
    if octets == tpdu_length:
        return True
    return octets == tpdu_length + 1 + int(line[:2], 16)


def pdu_length(urc: Urc) -> int | None:
    """The TPDU length a PDU-mode header announces: `+CMT: [<alpha>],<length>`, `+CDS: <length>`,
    `+CBM: <length>` (27.005 §3.4.1); None for any other line, text-mode headers included (those
    have three values or more: +CDS ends with <st>, a number, and must not wait for a PDU)."""
    if urc.name not in TWO_LINE_URCS or not 1 <= len(urc.values) <= 2:
        return None
    length = urc.values[-1]
    return length if isinstance(length, int) else None


def data_follows(urc: Urc) -> bool:
    """Whether a text-mode header is followed by a data line: +CMT (`"<oa>",[<alpha>],"<scts>"...`)
    and +CBM (`<sn>,<mid>,<dcs>,<page>,<pages>`) are; text-mode +CDS is one line (27.005 §3.4.1)."""
    return urc.name in ("+CMT", "+CBM") and len(urc.values) >= 3
