"""The fake modem's identity and network answers (AT+CGSN, the ICCID variants, AT+CSQ, AT+COPS)."""

from __future__ import annotations

from tests.fakes.quirks import (
    HuaweiCommandNotSupport,
    HuaweiIccidQuery,
    Profile,
    QuectelQccid,
    Sim800BareCcid,
)


class _Fail(Exception):
    """An error final code: formatted by the fake per AT+CMEE (ERROR, number or words)."""

    def __init__(self, code: int, kind: str = "+CMS ERROR") -> None:
        self.code, self.kind = code, kind


class IdentityCommands:
    """Mixed into `FakeModem`: answers from its identity fields, per family."""

    profile: Profile
    imei: str
    imsi: str
    iccid: str
    operator: str
    rssi: int
    unlocked: bool
    cops_format: int

    def _unknown(self) -> list[str]:
        return ["COMMAND NOT SUPPORT" if self.profile.has(HuaweiCommandNotSupport) else "ERROR"]

    def _at_cgsn(self, mode: str, args: str) -> list[str]:
        return [self.imei, "OK"]

    def _at_cimi(self, mode: str, args: str) -> list[str]:
        if not self.unlocked:
            raise _Fail(11, "+CME ERROR")
        return [self.imsi, "OK"]

    def _at_cgmi(self, mode: str, args: str) -> list[str]:
        return [self.profile.manufacturer, "OK"]

    def _at_cgmm(self, mode: str, args: str) -> list[str]:
        return [self.profile.model, "OK"]

    def _at_ccid(self, mode: str, args: str) -> list[str]:
        if not self.profile.has(Sim800BareCcid):
            return self._unknown()
        return [self.iccid, "OK"]

    def _at_qccid(self, mode: str, args: str) -> list[str]:
        if not self.profile.has(QuectelQccid):
            return self._unknown()
        return [f"+QCCID: {self.iccid}", "OK"]

    def _at_hw_iccid(self, mode: str, args: str) -> list[str]:
        if not self.profile.has(HuaweiIccidQuery) or mode != "?":
            return self._unknown()
        return [f"^ICCID: {self.iccid}", "OK"]

    def _at_csq(self, mode: str, args: str) -> list[str]:
        return [f"+CSQ: {self.rssi},0", "OK"]

    def _at_creg(self, mode: str, args: str) -> list[str]:
        return ["+CREG: 0,1", "OK"] if mode == "?" else ["OK"]

    def _at_cops(self, mode: str, args: str) -> list[str]:
        if mode == "=":
            self.cops_format = int(args.split(",")[1]) if "," in args else 0
            return ["OK"]
        name = self.operator if self.cops_format == 0 else "26201"
        return [f'+COPS: 0,{self.cops_format},"{name}",7', "OK"]
