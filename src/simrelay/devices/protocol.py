"""Wire shapes of the device protocol, version 1 (docs/device-protocol.md): the pairing
request and the frames a device sends. Unknown fields are ignored, as the document says; a
NUL is refused in identifiers and replaced in free text (simrelay/text.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from simrelay.text import Exact, Scrubbed

PROTOCOL = 1

Text200 = Annotated[str, Scrubbed, StringConstraints(max_length=200)]
MessageId = Annotated[str, StringConstraints(min_length=24, max_length=24), Exact]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=64), Exact]


class Frame(BaseModel):
    model_config = ConfigDict(extra="ignore")


class PairRequest(Frame):
    code: Annotated[str, StringConstraints(max_length=64), Exact]
    name: Text200 = ""
    model: Text200 = ""
    app_version: Text200 = ""


class Sim(Frame):
    slot: int = Field(ge=0, le=255)
    name: Text200 = ""
    failing: bool | None = None
    """True: the device sends nothing on this SIM for now (its sends keep failing)."""


class Status(Frame):
    """What both `hello` and `heartbeat` may carry."""

    battery: int | None = Field(default=None, ge=0, le=100)
    charging: bool | None = None
    signal: int | None = Field(default=None, ge=-1, le=4)
    sims: list[Sim] | None = Field(default=None, max_length=16)


class Hello(Status):
    protocol: int
    app_version: Text200 | None = None
    model: Text200 | None = None
    held: list[Annotated[str, StringConstraints(max_length=64)]] = Field(
        default_factory=list, max_length=10_000
    )
    """Ids that are not SMS ids are ignored, not refused: one bad entry must not lock a device out."""
    features: list[Annotated[str, StringConstraints(max_length=64)]] = Field(
        default_factory=list, max_length=64
    )
    """What the device can do beyond SMS ("ussd"); names the server does not know are ignored."""


class Report(Frame):
    seq: int | None = None


class MessageReport(Report):
    id: MessageId
    attempt: int | None = None
    """The offer's `attempt` the report is about (used by `dropped`)."""


class Sent(MessageReport):
    parts: int = Field(default=1, ge=1, le=255)


class Failed(MessageReport):
    reason: Annotated[str, Scrubbed, StringConstraints(max_length=1000)] = ""


SIM_FAILING = "sim_failing"
"""A `dropped` reason: the device declined the offer, unstarted, because its SIM is failing."""


class Dropped(MessageReport):
    reason: Annotated[str, Scrubbed, StringConstraints(max_length=1000)] = ""
    """Why the device let the SMS go; only SIM_FAILING means something to the server."""


class Delivery(MessageReport):
    part: int = Field(default=0, ge=0, le=254)
    parts: int | None = Field(default=None, ge=1, le=255)
    delivered: bool


class Heartbeat(Report, Status):
    pass


class Received(Report):
    id: Identifier
    phone_number: Identifier
    message: Annotated[str, Scrubbed, StringConstraints(max_length=10_000)]
    received_at: int = Field(ge=0, le=2**31 - 1)
    sim: int | None = Field(default=None, ge=0, le=255)


class UssdResult(Report):
    id: MessageId
    """The `ussd` frame's id."""
    status: Literal["done", "error"]
    response: Annotated[str, Scrubbed, StringConstraints(max_length=1000)] = ""
    """The network's answer; longer than 1000 characters makes the frame `invalid`."""


REPORTS: dict[str, type[Report]] = {
    "taken": MessageReport,
    "sent": Sent,
    "failed": Failed,
    "delivery": Delivery,
    "dropped": Dropped,
    "heartbeat": Heartbeat,
    "received": Received,
    "ussd_result": UssdResult,
}


def sims_of(status: Status) -> list[dict[str, Any]] | None:
    """The device record's `sim_list` ({slot_index, display_name}) from reported SIMs."""
    if status.sims is None:
        return None
    return [{"slot_index": sim.slot, "display_name": sim.name} for sim in status.sims]
