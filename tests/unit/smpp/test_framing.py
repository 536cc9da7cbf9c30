"""The framer cuts a byte stream into PDUs however the socket splits it, keeps going past a PDU
whose body does not decode, and stops for good at a command_length it cannot trust."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simrelay.smpp.codes import CommandId, CommandStatus
from simrelay.smpp.fields import FramingError, PduError
from simrelay.smpp.framing import MAX_LENGTH, Framer
from simrelay.smpp.pdu import (
    BindTransceiver,
    EnquireLink,
    GenericNack,
    Pdu,
    SubmitSm,
    SubmitSmResp,
    error_response,
)
from simrelay.smpp.tlv import Options

STREAM: list[Pdu] = [
    BindTransceiver(sequence=1, system_id="esme", password="secret"),
    EnquireLink(sequence=2),
    SubmitSm(sequence=3, destination_addr="+15551234567", short_message=b"hello"),
    SubmitSm(sequence=4, options=Options(message_payload=b"x" * 3000)),
    SubmitSmResp(sequence=5, message_id="5f1e2d3c4b5a697887766554"),
]
OCTETS = b"".join(pdu.encode() for pdu in STREAM)


def drain(framer: Framer) -> list[Pdu]:
    out = []
    while (pdu := framer.next_pdu()) is not None:
        out.append(pdu)
    return out


def test_byte_by_byte() -> None:
    framer = Framer()
    got: list[Pdu] = []
    for at in range(len(OCTETS)):
        framer.feed(OCTETS[at : at + 1])
        got += drain(framer)
        # A PDU comes out exactly when its last octet arrives.
        assert len(got) == sum(1 for end in _ends() if end <= at + 1)
    assert got == STREAM
    assert framer.buffered == 0


def _ends() -> list[int]:
    ends, total = [], 0
    for pdu in STREAM:
        total += len(pdu.encode())
        ends.append(total)
    return ends


@settings(deadline=None)  # CI runs suites side by side on two cores
@given(cuts=st.lists(st.integers(min_value=0, max_value=len(OCTETS)), max_size=20))
def test_random_chunks(cuts: list[int]) -> None:
    framer = Framer()
    got: list[Pdu] = []
    bounds = [0, *sorted(cuts), len(OCTETS)]
    for start, end in zip(bounds, bounds[1:], strict=False):
        framer.feed(OCTETS[start:end])
        got += drain(framer)
    assert got == STREAM


def test_partial_pdu_waits() -> None:
    framer = Framer()
    framer.feed(OCTETS[:20])
    assert framer.next_pdu() is None
    assert framer.buffered == 20


def test_bad_body_raises_and_the_next_pdu_still_comes() -> None:
    bad = SubmitSm(sequence=8).encode()[:-1]
    bad = (len(bad)).to_bytes(4, "big") + bad[4:]  # short_message's sm_length octet cut off
    framer = Framer()
    framer.feed(bad + EnquireLink(sequence=9).encode())
    with pytest.raises(PduError) as caught:
        framer.next_pdu()
    assert not isinstance(caught.value, FramingError)
    assert (caught.value.status, caught.value.command_id, caught.value.sequence) == (
        CommandStatus.ESME_RINVCMDLEN,
        CommandId.SUBMIT_SM,
        8,
    )
    assert error_response(caught.value) == SubmitSmResp(sequence=8, status=CommandStatus.ESME_RINVCMDLEN)
    assert framer.next_pdu() == EnquireLink(sequence=9)


@pytest.mark.parametrize("length", [0, 4, 15])
def test_command_length_under_16_breaks_the_stream(length: int) -> None:
    framer = Framer()
    framer.feed(length.to_bytes(4, "big"))
    with pytest.raises(FramingError) as caught:
        framer.next_pdu()
    assert caught.value.status == CommandStatus.ESME_RINVCMDLEN
    assert (caught.value.command_id, caught.value.sequence) == (None, None)
    assert error_response(caught.value) == GenericNack(sequence=0, status=CommandStatus.ESME_RINVCMDLEN)
    # Whatever comes next, the stream is lost.
    framer.feed(EnquireLink(sequence=1).encode())
    with pytest.raises(FramingError):
        framer.next_pdu()


def test_command_length_over_the_maximum_breaks_the_stream_with_its_sequence() -> None:
    framer = Framer()
    header = (MAX_LENGTH + 1).to_bytes(4, "big") + bytes.fromhex("00000004000000000000002a")
    framer.feed(header)
    with pytest.raises(FramingError) as caught:
        framer.next_pdu()
    assert (caught.value.command_id, caught.value.sequence) == (CommandId.SUBMIT_SM, 42)
    assert error_response(caught.value) == GenericNack(sequence=42, status=CommandStatus.ESME_RINVCMDLEN)


def test_maximum_is_configurable() -> None:
    pdu = SubmitSm(sequence=1, options=Options(message_payload=b"x" * 200))
    small = Framer(max_length=100)
    small.feed(pdu.encode())
    with pytest.raises(FramingError):
        small.next_pdu()
    exact = Framer(max_length=len(pdu.encode()))
    exact.feed(pdu.encode())
    assert exact.next_pdu() == pdu
