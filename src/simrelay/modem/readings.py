"""What the `Modem` commands answer and settle on (`modem/commands.py`), as plain values."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from simrelay.modem.results import AtValue


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds to wait for a final result code (or, for USSD, for the network's +CUSD)."""

    command: float = 5.0
    send: float = 60.0  # AT+CMGS waits for the network's acknowledgement
    ussd: float = 30.0
    read: float = 15.0  # AT+CMGL over a full SIM


class PinState(StrEnum):
    """What `AT+CPIN?` reported before `initialize` entered a PIN."""

    READY = "READY"  # no PIN needed
    PIN_ENTERED = "PIN_ENTERED"  # SIM PIN was asked and given


class SmsMode(StrEnum):
    """How SMS cross the AT interface (AT+CMGF, 27.005 §3.2.3)."""

    PDU = "pdu"  # AT+CMGF=0: hex TPDUs (pdu.py), preferred
    TEXT = "text"  # AT+CMGF=1: the fallback for modems that refuse PDU mode (text.py)


class ModemSetupError(Exception):
    """`initialize` cannot bring the modem to a usable state (PIN needed, no SMS mode...)."""

    def __init__(self, step: str, detail: str) -> None:
        self.step = step
        self.detail = detail
        super().__init__(f"{step}: {detail}")


@dataclass(frozen=True, slots=True)
class Memory:
    """Message storage as `AT+CPMS?` reports it: the read/delete memory and how full it is."""

    storage: str
    used: int
    total: int


@dataclass(frozen=True, slots=True)
class ModemSetup:
    """What `initialize` settled on."""

    pin: PinState
    cnmi: str  # the accepted +CNMI parameters (see CNMI_CHOICES)
    status_reports_stored: bool  # True when reports come as +CDSI (stored), not +CDS (direct)
    sms_service: str | None  # AT+CSMS? answer, for the log
    memory: Memory | None
    mode: SmsMode = SmsMode.PDU


@dataclass(frozen=True, slots=True)
class Identity:
    imei: str
    imsi: str | None
    iccid: str | None
    manufacturer: str | None
    model: str | None


@dataclass(frozen=True, slots=True)
class Signal:
    """AT+CSQ: `rssi_dbm` None when the modem does not know (99)."""

    rssi: int
    rssi_dbm: int | None
    ber: int | None


@dataclass(frozen=True, slots=True)
class Operator:
    """AT+COPS? in long alphanumeric format; `act` the access technology (0 GSM, 2 UTRAN, 7 LTE)."""

    mode: int
    name: str
    act: int | None


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A message in the modem's memory (AT+CMGL/AT+CMGR); `stat` 0 unread, 1 read, 2 unsent, 3 sent.
    PDU mode: `pdu` with the SMSC address in front, as the modem gives it. Text mode: `header` holds
    the values after <stat> and `pdu` the data line (see `text.TextEntry`)."""

    index: int
    stat: int
    length: int
    pdu: str
    header: tuple[AtValue, ...] | None = None

    @property
    def content(self) -> str:
        """What tells this message from another in the same slot: the PDU, or in text mode the
        address, time stamp and data (the first three header values of +CMGR and +CMGL agree)."""
        if self.header is None:
            return self.pdu
        return "\n".join([*(str(value) for value in self.header[:3:2]), self.pdu])


class UssdStatus(StrEnum):
    """The <m> of +CUSD (27.007 §7.15), plus TIMEOUT when no +CUSD came."""

    DONE = "DONE"  # 0: no further action required
    ACTION_REQUIRED = "ACTION_REQUIRED"  # 1: the network waits for a reply
    ENDED_BY_NETWORK = "ENDED_BY_NETWORK"  # 2
    OTHER_CLIENT = "OTHER_CLIENT"  # 3: another local client answered
    NOT_SUPPORTED = "NOT_SUPPORTED"  # 4
    NETWORK_TIMEOUT = "NETWORK_TIMEOUT"  # 5
    TIMEOUT = "TIMEOUT"  # no +CUSD within Timeouts.ussd


@dataclass(frozen=True, slots=True)
class UssdReply:
    """The raw +CUSD fields: `payload` as the modem sent it (packed GSM-7 hex on Huawei; decoding
    it with `dcs` is pdu.py's job)."""

    status: UssdStatus
    code: int | None
    payload: str | None
    dcs: int | None
