"""Why a send failed, from what the device reported, and whether the carrier refused it.

Phones report Android's SmsManager result codes (the SMSGate app as `Send result:
RESULT_ERROR_LIMIT_EXCEEDED (Failed because ...)`, capcom6/android-sms-gateway v1.68.0,
MessagesService.kt, resultToErrorMessage); modems `+CMS ERROR n` (modem/reasons.py words them);
SMPP routes the SMSC's refusal. A carrier refusal counts towards pausing the SIM
(`pause_after_failures`); a bad number or a device fault does not: another SIM would not fare
better, or the device already says its SIM is failing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ANDROID_CODE = re.compile(r"\bRESULT_[A-Z_]+\b")
CMS_CODE = re.compile(r"\+CMS ERROR (\d+)")

CARRIER_ANDROID = {
    "RESULT_ERROR_LIMIT_EXCEEDED": "sending limit reached",
    "RESULT_ERROR_GENERIC_FAILURE": "refused by the carrier (generic failure)",
    "RESULT_NETWORK_REJECT": "rejected by the network",
    "RESULT_RIL_NETWORK_REJECT": "rejected by the network",
    "RESULT_RIL_ACCESS_BARRED": "access barred by the network",
    "RESULT_RIL_REQUEST_RATE_LIMITED": "too many SMS too fast",
    "RESULT_UNEXPECTED_EVENT_STOP_SENDING": "rate-limited by the phone (premium or frequent SMS dialog)",
}
"""Android results that mean the SIM's carrier (or the phone's own rate limit) said no."""
OTHER_ANDROID = {
    "RESULT_NETWORK_ERROR": "network error",
    "RESULT_RIL_NETWORK_ERR": "network error",
    "RESULT_ERROR_RADIO_OFF": "radio off (airplane mode?)",
    "RESULT_ERROR_NO_SERVICE": "no mobile service",
    "RESULT_RADIO_NOT_AVAILABLE": "radio not available",
    "RESULT_RIL_RADIO_NOT_AVAILABLE": "radio not available",
    "RESULT_RIL_SIM_ABSENT": "no SIM",
    "RESULT_ERROR_FDN_CHECK_FAILURE": "fixed dialling numbers (FDN) block it",
    "RESULT_ERROR_SHORT_CODE_NOT_ALLOWED": "the phone's user refused the short code",
    "RESULT_ERROR_SHORT_CODE_NEVER_ALLOWED": "the phone's user refused the short code",
    "RESULT_INVALID_SMSC_ADDRESS": "SMSC address unknown to the SIM",
    "RESULT_RIL_INVALID_SMSC_ADDRESS": "SMSC address unknown to the SIM",
}
CARRIER_CMS = {8, 10, 21, 29, 50}
"""+CMS ERROR causes by which the network refuses this sender (24.011 E-2): operator determined
barring, call barred, short message transfer rejected, facility rejected, facility not
subscribed. A network out of order or congested (38, 41, 42, 47) says nothing of the SIM's
standing: the modem host marks the SIM failing for those instead."""
SMSC_REFUSED = "the SMSC refused it"
"""An SMPP route's refusal (smpp/route_frames.py)."""


@dataclass(frozen=True, slots=True)
class Refusal:
    reason: str
    """In words, the device's own code kept: `carrier refused: sending limit reached
    (RESULT_ERROR_LIMIT_EXCEEDED)`."""
    by_carrier: bool


def read(reported: str) -> Refusal:
    """The reason to store for a failure the device reported, and whether the carrier refused."""
    android = ANDROID_CODE.search(reported)
    if android is not None:
        code = android.group(0)
        if code in CARRIER_ANDROID:
            return Refusal(f"carrier refused: {CARRIER_ANDROID[code]} ({code})", True)
        if code in OTHER_ANDROID:
            return Refusal(f"{OTHER_ANDROID[code]} ({code})", False)
        return Refusal(reported, False)
    cms = CMS_CODE.search(reported)
    if cms is not None and int(cms.group(1)) in CARRIER_CMS:
        return Refusal(f"carrier refused: {reported}", True)
    if reported.startswith(SMSC_REFUSED):
        return Refusal(f"carrier refused: {reported}", True)
    return Refusal(reported, False)


class Streaks:
    """Carrier refusals in a row of each SIM of one device, against its `pause_after_failures`:
    a send resets a SIM's run; a failure that is not the carrier's neither counts nor resets."""

    def __init__(self, device: object) -> None:
        self._runs: dict[int | None, int] = {}
        self.after = 0
        self.minutes = 60
        self.load(device)

    def load(self, device: object) -> None:
        self.after = int(getattr(device, "pause_after_failures", 0) or 0)
        self.minutes = int(getattr(device, "pause_minutes", 60) or 60)

    def failed(self, sim: int | None, refusal: Refusal) -> bool:
        """Counts a failure; True when it completes a run that pauses the SIM (which starts over)."""
        if not (refusal.by_carrier and self.after):
            return False
        run = self._runs.get(sim, 0) + 1
        self._runs[sim] = 0 if run >= self.after else run
        return run >= self.after

    def sent(self, sim: int | None) -> None:
        self._runs.pop(sim, None)
