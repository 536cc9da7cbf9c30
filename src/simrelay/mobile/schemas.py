"""The app's wire shapes (its field names are the protocol's; see docs/android.md for the
sources each one was checked against)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from simrelay.text import FreeText, Scrubbed

NAME_MAX = 128
PUSH_TOKEN_MAX = 256
MESSAGE_ID_MAX = 36


class Wire(BaseModel):
    # The app adds fields over its versions: what we do not use is ignored, not refused.
    model_config = ConfigDict(extra="ignore")


Name = Annotated[str, Scrubbed, StringConstraints(max_length=NAME_MAX)]


class SimCard(Wire):
    # -1 is Android's "slot unknown" (SubscriptionManager.INVALID_SIM_SLOT_INDEX), which the app
    # copies unchecked (SubscriptionsHelper.kt#L133-L145, v1.65.0+): such a card is left out.
    slotIndex: int = Field(ge=-1, le=255)
    simNumber: int | None = Field(default=None, ge=0, le=256)
    phoneNumber: FreeText | None = None
    carrierName: FreeText | None = None

    def as_sim(self) -> dict[str, Any]:
        """The device object's `sim_list` item."""
        name = self.carrierName or f"SIM {self.simNumber or self.slotIndex + 1}"
        return {"slot_index": self.slotIndex, "display_name": name[:200]}


def known_sims(cards: list[SimCard] | None) -> list[SimCard] | None:
    """The cards whose slot is known; None if the app sent no list (before v1.65.0)."""
    return None if cards is None else [card for card in cards if card.slotIndex >= 0]


class RegisterRequest(Wire):
    name: Name | None = None
    pushToken: Annotated[str, StringConstraints(max_length=PUSH_TOKEN_MAX)] | None = None
    simCards: list[SimCard] | None = Field(default=None, max_length=16)


class PatchDeviceRequest(Wire):
    id: str
    pushToken: Annotated[str, StringConstraints(max_length=PUSH_TOKEN_MAX)] | None = None
    simCards: list[SimCard] | None = Field(default=None, max_length=16)


class State(StrEnum):
    """ProcessingState: of a message and of each recipient."""

    PENDING = "Pending"
    CANCELLING = "Cancelling"
    CANCELLED = "Cancelled"
    PROCESSED = "Processed"
    SENT = "Sent"
    DELIVERED = "Delivered"
    FAILED = "Failed"


class Recipient(Wire):
    phoneNumber: str
    state: State
    error: FreeText | None = None


class MessagePatch(Wire):
    """One item of PATCH /message: always the message's full state."""

    id: Annotated[str, StringConstraints(min_length=1, max_length=MESSAGE_ID_MAX)]
    state: State
    recipients: list[Recipient] = Field(default_factory=list, max_length=100)
    states: dict[State, str] = Field(default_factory=dict)


class PasswordChange(Wire):
    currentPassword: str
    newPassword: Annotated[str, StringConstraints(min_length=14, max_length=256)]


def app_time(timestamp: float) -> str:
    """RFC 3339 as the app writes and parses it: milliseconds (exactly three digits) and an
    offset; UTC here."""
    moment = dt.datetime.fromtimestamp(timestamp, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+00:00"
