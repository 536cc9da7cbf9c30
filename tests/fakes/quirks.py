"""The fake modems' families: what each says and does differently, one named quirk per deviation.

Sources (public copies of the vendors' manuals):
- SIMCom, "SIM800 Series_AT Command Manual_V1.09" (2015-08-03): §3.2.28 AT+CPIN, §4.2.8 AT+CNMI
  (pp. 124-125: +CMTI, +CMT and +CDS as "<length><CR><LF><pdu>"), the summary of unsolicited
  result codes (pp. 351-352: RDY, +CFUN: 1, +CPIN: READY, Call Ready, SMS Ready), AT+CCID.
- Huawei, "MU509 HSDPA LGA Module AT Command Interface Specification" issue 04 (2013-01-28)
  §13.2 ^RSSI ("reported when the RSSI changes by more than 5 dBm") and §6.6 +CDSI (the "SR"
  memory cannot be read back); "HUAWEI UMTS Datacard/Modem AT Command Interface Specification"
  (EM770W issue 18, §6.7-6.8 +CUSD); the E3372/E173 USSD practice of packed GSM-7 hex with dcs 15
  (e.g. AT+CUSD=1,"AA180C3602",15 for *100#), documented for the E173 at hsmr.cc/Projekte/HuaweiE173.
- Quectel, "EC25&EC21 AT Commands Manual" V1.3 (2018-09-20): AT+QCCID, the URC summary
  (+QIND: SMS DONE / PB DONE, +QUSIM), AT+CNMI <ds>=2 storing reports with +CDSI: <mem>,<index>.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TypeVar


@dataclass(frozen=True, slots=True)
class Quirk:
    """A deviation from plain 27.005/27.007 behaviour, named after the family that has it."""


Q = TypeVar("Q", bound=Quirk)


@dataclass(frozen=True, slots=True)
class EchoOnBoot(Quirk):
    """Echo (ATE1) is on after power-up until ATE0: every command comes back before its answer.
    V.25ter's default, kept by the SIM800 and the EC25 (their manuals' ATE: default 1)."""


@dataclass(frozen=True, slots=True)
class BootBanner(Quirk):
    """Lines sent on their own once the module has booted."""

    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Sim800BareCcid(Quirk):
    """AT+CCID answers the ICCID digits alone, with no `+CCID:` label (SIM800 manual, AT+CCID)."""


@dataclass(frozen=True, slots=True)
class HuaweiCurcReports(Quirk):
    """^RSSI, ^BOOT and ^MODE come unasked (^CURC=1, the stick's default) and land in the middle
    of command answers: every `every`th answer carries one (MU509 spec §13.2)."""

    every: int = 2


@dataclass(frozen=True, slots=True)
class HuaweiCommandNotSupport(Quirk):
    """An unknown command ends with `COMMAND NOT SUPPORT` rather than ERROR (AT+CCID on an E3372)."""


@dataclass(frozen=True, slots=True)
class HuaweiIccidQuery(Quirk):
    """The ICCID is read with AT^ICCID? and answered `^ICCID: <digits>`."""


@dataclass(frozen=True, slots=True)
class HuaweiPackedUssd(Quirk):
    """AT+CUSD takes the request as packed GSM-7 hex (dcs 15) and answers the same way; a plain
    text request is refused with +CME ERROR (seen on the E173/E3372, see the module docstring)."""


@dataclass(frozen=True, slots=True)
class QuectelQccid(Quirk):
    """The ICCID is read with AT+QCCID, answered `+QCCID: <digits>` (EC25 manual); AT+CCID is
    unknown there."""


@dataclass(frozen=True, slots=True)
class QuectelStoredStatusReports(Quirk):
    """Status reports are stored in "SR" and announced `+CDSI: "SR",<index>`, then read with
    AT+CMGR after AT+CPMS="SR" (EC25 manual, AT+CNMI <ds>=2). The EC25 also documents <ds>=1;
    this profile refuses it with +CMS ERROR: 303 so the driver's fallback path is exercised."""


@dataclass(frozen=True, slots=True)
class TextModeOnly(Quirk):
    """AT+CMGF=0 is refused (+CMS ERROR: 303) and AT+CMGF=? offers (1): SMS only in text mode.
    A synthetic quirk: no manual found documents a current module without PDU mode, but hosts meet
    it (firmware builds or configurations that lock text mode; an AI-Thinker A6 user needed
    AT+CMGF=1 to send at all, github.com/oakkar7/ATester/issues/1; ATLib users kept a text mode
    for a Telit xe910 whose PDU sends failed, github.com/hbjorgo/ATLib/issues/35)."""


@dataclass(frozen=True, slots=True)
class Profile:
    """One family as the fake plays it: identity strings, line ending and quirks."""

    family: str
    manufacturer: str
    model: str
    quirks: tuple[Quirk, ...] = ()
    eol: str = "\r\n"  # V.25ter framing with ATV1: <CR><LF>text<CR><LF>
    storage_total: int = 30

    def has(self, kind: type[Quirk]) -> bool:
        return any(isinstance(quirk, kind) for quirk in self.quirks)

    def get(self, kind: type[Q]) -> Q | None:
        return next((quirk for quirk in self.quirks if isinstance(quirk, kind)), None)


# Every profile but the EC25 takes +CNMI=2,1,0,1,0 and sends status reports as the two-line
# `+CDS: <len>` + PDU (SIM800 manual §4.2.8); errors follow +CMEE (0 ERROR, 1 numbers, 2 words).
SIM800 = Profile(
    family="SIM800",
    manufacturer="SIMCOM_Ltd",
    model="SIMCOM_SIM800L",
    quirks=(
        EchoOnBoot(),
        BootBanner(("RDY", "+CFUN: 1", "+CPIN: READY", "Call Ready", "SMS Ready")),
        Sim800BareCcid(),
    ),
    storage_total=50,
)

# The E3372 profile starts with echo off, so the suite also covers a modem without echo; the
# stick's firmware default is not claimed here.
HUAWEI_E3372 = Profile(
    family="Huawei E3372",
    manufacturer="huawei",
    model="E3372",
    quirks=(
        BootBanner(("^BOOT:20952309,0,0,0,75", "^MODE:5,4", "^RSSI:20")),
        HuaweiCurcReports(),
        HuaweiCommandNotSupport(),
        HuaweiIccidQuery(),
        HuaweiPackedUssd(),
    ),
    storage_total=100,
)

QUECTEL_EC25 = Profile(
    family="Quectel EC25",
    manufacturer="Quectel",
    model="EC25",
    quirks=(
        EchoOnBoot(),
        BootBanner(("RDY", "+CFUN: 1", "+CPIN: READY", "+QUSIM: 1", "+QIND: SMS DONE", "+QIND: PB DONE")),
        QuectelQccid(),
        QuectelStoredStatusReports(),
    ),
    storage_total=255,
)

PROFILES = (SIM800, HUAWEI_E3372, QUECTEL_EC25)

# Families locked to text mode, status reports direct (+CDS) and stored (+CDSI); not in PROFILES,
# whose tests speak PDU mode.
SIM800_TEXT_ONLY = replace(SIM800, family="SIM800 (text mode only)", quirks=(*SIM800.quirks, TextModeOnly()))
EC25_TEXT_ONLY = replace(
    QUECTEL_EC25, family="Quectel EC25 (text mode only)", quirks=(*QUECTEL_EC25.quirks, TextModeOnly())
)
