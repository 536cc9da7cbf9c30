"""How a simulated phone behaves (`SimulatorOptions`) and how it splits a message into parts."""

from __future__ import annotations

from dataclasses import dataclass

# The GSM 03.38 default alphabet and its extension table (two septets each). A copy, not an
# import of simrelay.sms.encoding: the device side does not depend on server modules.
_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")


def count_parts(text: str) -> int:
    """Parts a phone needs for `text`: GSM-7 (160 alone, 153 per part) when every character is in
    the GSM alphabet, else UCS-2 (70 alone, 67 per part). A plain ceiling division: unlike the
    server's count, an escape or surrogate pair may straddle two parts (phones differ here too).
    """
    if all(c in _GSM7_BASIC or c in _GSM7_EXTENSION for c in text):
        units = sum(2 if c in _GSM7_EXTENSION else 1 for c in text)
        single, multi = 160, 153
    else:
        units = sum(2 if ord(c) > 0xFFFF else 1 for c in text)
        single, multi = 70, 67
    return 1 if units <= single else -(-units // multi)


def _check_range(name: str, value: tuple[int, int] | tuple[float, float]) -> None:
    low, high = value
    if low < 0 or high < low:
        raise ValueError(f"{name} must be (low, high) with 0 <= low <= high, not {value!r}")


@dataclass(frozen=True, kw_only=True)
class SimulatorOptions:
    """Behaviour of every phone of a fleet. Times in milliseconds are (low, high) for a uniform draw."""

    send_ms: tuple[int, int] = (50, 200)
    """Delay between `taken` and the moment the phone starts sending (and reports sent/failed)."""
    fail_rate: float = 0.0
    """Probability that a send fails: the phone reports `failed` with a reason."""
    undelivered_rate: float = 0.0
    """Probability, per part, that the delivery report says `delivered: false`."""
    parts_from_length: bool = False
    """Report `parts` counted from the text (`count_parts`) instead of the offer's `parts`."""
    drop_after_take: float = 0.0
    """Probability that the connection dies (no close frame) right after `taken`; the phone then
    reconnects after the backoff, resumes with `held` and only then sends that message."""
    sims: int = 1
    """SIM slots reported in `hello` (0: an empty list, "one SIM, slot unknown")."""
    refuse_after: int = 0
    """Each SIM's carrier refuses every send after this many (0: never), as Android reports it:
    failed with RESULT_ERROR_LIMIT_EXCEEDED. A fleet's SIMs hitting their carriers' limits."""
    delivery_delay_ms: tuple[int, int] = (20, 100)
    """Delay before each part's delivery report."""
    heartbeat_seconds: float | None = None
    """Heartbeat interval; None uses the server's value from `welcome`."""
    reconnect_min: float = 1.0
    reconnect_max: float = 60.0
    """Reconnect backoff: doubles from `reconnect_min` up to `reconnect_max`, with jitter."""
    ussd: bool = True
    """List the "ussd" feature in `hello` and answer `ussd` frames (False: a device without USSD)."""
    ussd_ms: tuple[int, int] = (50, 150)
    """Delay before the answer to a `ussd` frame."""
    seed: int | None = None
    """Seed for every random choice (each phone derives its own stream from it and its id)."""

    def __post_init__(self) -> None:
        _check_range("send_ms", self.send_ms)
        _check_range("delivery_delay_ms", self.delivery_delay_ms)
        _check_range("ussd_ms", self.ussd_ms)
        _check_range("reconnect_min..reconnect_max", (self.reconnect_min, self.reconnect_max))
        for name in ("fail_rate", "undelivered_rate", "drop_after_take"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.sims < 0:
            raise ValueError("sims must be >= 0")
        if self.refuse_after < 0:
            raise ValueError("refuse_after must be >= 0")
        if self.heartbeat_seconds is not None and self.heartbeat_seconds <= 0:
            raise ValueError("heartbeat_seconds must be > 0")
