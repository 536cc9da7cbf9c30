"""A device session's view of its SIMs: which it reports failing, the wake-up when one recovers,
and the SMS it declined for a failing SIM (no server, no database)."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from simrelay.devices.assignment import Slot
from simrelay.devices.policy import Policy
from simrelay.devices.session import DeviceSession
from simrelay.sms.reports import Applied, Report, Verdict

MESSAGE = "65f0c1e2a1b2c3d4e5f60720"


class Hub:
    """The dispatcher as a session sees it: it records wake-ups and the reports it was given."""

    def __init__(self) -> None:
        self.policy = Policy(heartbeat_seconds=30.0)
        self.reports = self
        self.wakes: list[str] = []
        self.given: list[Report] = []

    def wake(self, account_id: str) -> None:
        self.wakes.append(account_id)

    async def update_device(self, device_id: str, values: dict[str, Any], **kw: Any) -> None:
        pass

    async def report(self, report: Report) -> Applied:
        self.given.append(report)
        return Applied(Verdict.OK, [], lease_ended=True)


def session() -> tuple[DeviceSession, Hub]:
    device = SimpleNamespace(
        id="d" * 24, account_id="acc", is_active=True, to_sim=-2, sim_list=[], battery=80, is_charging=False
    )
    hub = Hub()
    return DeviceSession(device, link=None, dispatcher=hub), hub  # type: ignore[arg-type]


def heartbeat(*sims: dict[str, Any]) -> str:
    return json.dumps({"type": "heartbeat", "seq": 1, "sims": list(sims)})


async def test_a_heartbeat_marks_sims_failing_and_one_that_recovers_wakes_dispatch() -> None:
    device, hub = session()
    await device._handle(heartbeat({"slot": 0, "name": "MTS"}, {"slot": 1, "name": "B", "failing": True}))
    assert device.sim_slots == [0, 1] and device.failing_sims == {1}
    assert Slot.of(device, 4, 0.0).failing == {1}
    assert hub.wakes == [], "nothing new to offer"

    await device._handle(heartbeat({"slot": 0}, {"slot": 1, "failing": False}))
    assert device.failing_sims == set()
    assert hub.wakes == ["acc"], "work waiting for SIM 1 is offered now"

    await device._handle(json.dumps({"type": "heartbeat", "seq": 2, "battery": 50}))
    assert device.failing_sims == set() and hub.wakes == ["acc"]


async def test_sims_without_the_flag_or_with_null_are_not_failing_and_other_values_are_invalid() -> None:
    device, _ = session()
    await device._handle(heartbeat({"slot": 0, "name": "MTS"}, {"slot": 1, "name": "B", "failing": None}))
    assert device.sim_slots == [0, 1] and device.failing_sims == set()
    await device._handle(heartbeat({"slot": 0, "failing": "maybe"}))
    errors = [json.loads(text) for text in _sent(device)]
    assert errors[-1]["type"] == "error" and errors[-1]["code"] == "invalid"


async def test_a_dropped_declined_for_a_failing_sim_is_no_attempt_and_keeps_the_sms_away() -> None:
    device, hub = session()
    dropped = {"type": "dropped", "seq": 3, "id": MESSAGE.upper(), "attempt": 2, "reason": "sim_failing"}
    await device._handle(json.dumps(dropped))
    assert hub.given[-1].declined and hub.given[-1].kind == "dropped"
    until = device.declined[MESSAGE]
    assert Slot.of(device, 4, until - 1).declined == {MESSAGE: until}
    assert Slot.of(device, 4, until).declined == {} and device.declined == {}, "the hold is over"

    plain = {"type": "dropped", "seq": 4, "id": MESSAGE, "attempt": 3}
    for frame in (plain, {**plain, "reason": "lease passed before sending"}):
        await device._handle(json.dumps(frame))
        assert not hub.given[-1].declined
    assert device.declined == {}, "only a decline for a failing SIM keeps the SMS away"


def _sent(device: DeviceSession) -> list[str]:
    frames = []
    while not device._outbox.empty():
        item = device._outbox.get_nowait()
        if isinstance(item, str):
            frames.append(item)
    return frames
