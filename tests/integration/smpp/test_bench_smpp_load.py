"""bench/smpp_load.py, the load generator of bench/smpp.py, against a fake SMSC on loopback built
with our codec: it keeps exactly its window in flight, counts what it sends and what comes back
by status, times receipts, paces, and reports a bind refused or a server gone silent; and its
submit_sm is the one smpplib, a client no one here wrote, encodes."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from simrelay.smpp.codes import CommandStatus, EsmType, MessageState
from simrelay.smpp.framing import Framer
from simrelay.smpp.pdu import (
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitter,
    BindTransmitterResp,
    DeliverSm,
    DeliverSmResp,
    Pdu,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
)
from simrelay.smpp.receipt import Receipt, format_receipt

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
import smpp_load
import smpp_report
from smpp_load import Load, run_load

pytestmark = pytest.mark.integration

S = CommandStatus


@dataclass
class FakeSmsc:
    """Answers each submit_sm after `delay` s with `status_for(n)` (n counts from 1); with
    `receipts`, sends a DELIVRD receipt for each accepted one right after its response."""

    bind_status: int = S.ESME_ROK
    delay: float = 0.002
    status_for: object = None
    silent: bool = False
    receipts: bool = False
    receipts_on_first: bool = False  # every receipt over the first connection, whoever submitted
    writers: list[asyncio.StreamWriter] = field(default_factory=list)
    submits: list[SubmitSm] = field(default_factory=list)
    outstanding: int = 0
    most_outstanding: int = 0
    receipt_acks: int = 0
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        framer = Framer()
        loop = asyncio.get_running_loop()
        self.writers.append(writer)
        try:
            while data := await reader.read(65536):
                framer.feed(data)
                while (pdu := framer.next_pdu()) is not None:
                    if isinstance(pdu, BindTransmitter):
                        writer.write(
                            BindTransmitterResp(sequence=pdu.sequence, status=self.bind_status).encode()
                        )
                    elif isinstance(pdu, BindTransceiver):
                        writer.write(
                            BindTransceiverResp(sequence=pdu.sequence, status=self.bind_status).encode()
                        )
                    elif isinstance(pdu, SubmitSm):
                        self.submits.append(pdu)
                        self.outstanding += 1
                        self.most_outstanding = max(self.most_outstanding, self.outstanding)
                        if not self.silent:
                            loop.call_later(self.delay, self.answer, writer, pdu, len(self.submits))
                    elif isinstance(pdu, DeliverSmResp):
                        self.receipt_acks += 1
                    elif isinstance(pdu, Unbind):
                        writer.write(UnbindResp(sequence=pdu.sequence).encode())
        except ConnectionError:
            pass
        finally:
            writer.close()

    def answer(self, writer: asyncio.StreamWriter, pdu: SubmitSm, n: int) -> None:
        self.outstanding -= 1
        status = self.status_for(n) if callable(self.status_for) else S.ESME_ROK
        message_id = f"{n:024x}"
        if writer.is_closing():
            return
        writer.write(SubmitSmResp(sequence=pdu.sequence, status=status, message_id=message_id).encode())
        if self.receipts and status == S.ESME_ROK and pdu.registered_delivery:
            text = format_receipt(Receipt(message_id, MessageState.DELIVERED, text="hello"))
            receipt: Pdu = DeliverSm(
                sequence=n, esm_class=EsmType.DELIVERY_RECEIPT, short_message=text.encode()
            )
            (self.writers[0] if self.receipts_on_first else writer).write(receipt.encode())


@pytest.fixture
async def smsc() -> AsyncIterator[FakeSmsc]:
    fake = FakeSmsc()
    server = await asyncio.start_server(fake.handle, "127.0.0.1", 0)
    fake.port = server.sockets[0].getsockname()[1]
    async with server:
        yield fake
        server.close()


def load_on(smsc: FakeSmsc, **overrides: object) -> Load:
    settings: dict[str, object] = {"window": 10, "duration": 0.3, "response_timeout": 2.0, **overrides}
    return Load(host="127.0.0.1", port=smsc.port, system_id="bench", password="bench", **settings)  # type: ignore[arg-type]


@pytest.mark.parametrize("window", [1, 10, 100])
async def test_keeps_exactly_its_window_in_flight_and_every_submit_is_answered(
    smsc: FakeSmsc, window: int
) -> None:
    result = await run_load(load_on(smsc, window=window))

    assert smsc.most_outstanding == window
    assert result.errors == [] and result.unanswered == 0
    assert result.sent == len(smsc.submits) == result.ok_total == result.statuses["ESME_ROK"]
    assert 0 < result.answered <= result.sent
    assert len(result.latencies_ms) == result.answered
    assert result.rate == pytest.approx(result.answered / 0.3)
    assert min(result.latencies_ms) >= 2.0  # the fake's delay: latency is submit -> resp
    point = smpp_report.smpp_point("simrelay smpp", "sqlite", window, _args(), [result], stored=result.sent)
    assert point.check_ok is True
    stored_one_less = smpp_report.smpp_point(
        "simrelay smpp", "sqlite", window, _args(), [result], stored=result.sent - 1
    )
    assert stored_one_less.check_ok is False


async def test_sessions_each_keep_a_window(smsc: FakeSmsc) -> None:
    result = await run_load(load_on(smsc, sessions=3, window=5))

    assert smsc.most_outstanding == 15
    assert result.errors == [] and result.sent == len(smsc.submits) == result.ok_total


async def test_counts_answers_by_status_and_only_esme_rok_as_accepted(smsc: FakeSmsc) -> None:
    smsc.status_for = lambda n: S.ESME_RTHROTTLED if n % 3 == 0 else S.ESME_ROK
    result = await run_load(load_on(smsc))

    assert result.statuses["ESME_RTHROTTLED"] == len(smsc.submits) // 3
    assert result.ok_total == result.statuses["ESME_ROK"] == len(smsc.submits) - len(smsc.submits) // 3
    point = smpp_report.smpp_point("simrelay smpp", "sqlite", 10, _args(), [result], stored=result.ok_total)
    assert point.check_ok is False  # a refused submit fails the point's check


async def test_the_pdu_is_the_submit_sm_the_report_describes(smsc: FakeSmsc) -> None:
    await run_load(load_on(smsc, duration=0.05))

    first = smsc.submits[0]
    assert (first.dest_addr_ton, first.destination_addr, first.short_message) == (
        1,
        "79999999999",
        b"hello from wrk",
    )
    assert first.registered_delivery == 0
    assert len({pdu.sequence for pdu in smsc.submits}) == len(smsc.submits)


async def test_a_refused_bind_is_an_error_and_nothing_is_sent(smsc: FakeSmsc) -> None:
    smsc.bind_status = S.ESME_RINVPASWD
    result = await run_load(load_on(smsc))

    assert result.errors == ["SessionError: bind answered ESME_RINVPASWD"]
    assert result.sent == 0 and smsc.submits == []


async def test_a_silent_server_ends_the_session_with_its_submits_unanswered(smsc: FakeSmsc) -> None:
    smsc.silent = True
    result = await run_load(load_on(smsc, window=7, response_timeout=0.3))

    assert result.unanswered == 7 == result.sent
    assert len(result.errors) == 1 and "no answer for 0.3s with 7 in flight" in result.errors[0]
    point = smpp_report.smpp_point("simrelay smpp", "sqlite", 7, _args(), [result], stored=0)
    assert point.check_ok is False


async def test_receipts_are_timed_from_the_response_and_acknowledged(smsc: FakeSmsc) -> None:
    smsc.receipts = True
    result = await run_load(load_on(smsc, transceiver=True, registered_delivery=1, receipt_timeout=2.0))

    assert result.receipts_wanted == result.answered > 0
    assert len(result.receipt_latencies_ms) == result.receipts_wanted
    assert result.receipt_states == {"DELIVERED": result.receipts_wanted}
    assert smsc.receipt_acks == len(smsc.submits)
    assert all(pdu.registered_delivery == 1 for pdu in smsc.submits)


async def test_a_receipt_over_another_session_is_matched_too(smsc: FakeSmsc) -> None:
    smsc.receipts = smsc.receipts_on_first = True
    result = await run_load(
        load_on(smsc, sessions=2, transceiver=True, registered_delivery=1, receipt_timeout=2.0)
    )

    assert result.receipts_wanted == result.answered > 0
    assert len(result.receipt_latencies_ms) == result.receipts_wanted


async def test_missing_receipts_are_waited_for_at_most_the_receipt_timeout(smsc: FakeSmsc) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = await run_load(load_on(smsc, transceiver=True, registered_delivery=1, receipt_timeout=0.5))

    assert result.receipts_wanted > 0 and result.receipt_latencies_ms == []
    assert loop.time() - started < 0.3 + 0.5 + 1.0


async def test_a_paced_load_sends_at_its_rate(smsc: FakeSmsc) -> None:
    result = await run_load(load_on(smsc, window=100, duration=1.0, rate=200))

    assert 150 <= result.sent <= 201
    assert smsc.most_outstanding < 100  # the pace, not the window, held it back


async def test_a_counted_load_sends_exactly_its_count_and_ends_early(smsc: FakeSmsc) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = await run_load(load_on(smsc, sessions=3, window=10, duration=30, count=95))

    assert result.sent == len(smsc.submits) == result.ok_total == 95
    assert loop.time() - started < 5


def test_smpplib_encodes_the_same_submit_sm() -> None:
    import smpplib.client  # type: ignore[import-untyped]
    import smpplib.consts  # type: ignore[import-untyped]
    import smpplib.smpp  # type: ignore[import-untyped]

    load = Load(host="127.0.0.1", port=1, system_id="bench", password="bench", registered_delivery=1)
    client = smpplib.client.Client("127.0.0.1", 1, allow_unknown_opt_params=True)
    pdu = smpplib.smpp.make_pdu(
        "submit_sm",
        client=client,
        source_addr="bench",
        dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
        dest_addr_npi=smpplib.consts.SMPP_NPI_ISDN,
        destination_addr=load.destination,
        short_message=load.text,
        registered_delivery=1,
    )
    pdu.sequence = 77

    assert pdu.generate() == smpp_load.submit_template(load, sequence=77)


def _args() -> object:
    import argparse

    return argparse.Namespace(sessions=1, runs=1, duration=0.3)


async def test_the_smpplib_check_passes_where_the_octets_match_and_the_submit_is_accepted(
    smsc: FakeSmsc,
) -> None:
    import smpp_peers

    said = await asyncio.to_thread(smpp_peers.check_with_smpplib, smsc.port, "bench", "bench")

    assert said == f"same octets as ours; ESME_ROK message_id={1:024x}"
    assert len(smsc.submits) == 1


async def test_the_smpplib_check_fails_on_a_refused_submit(smsc: FakeSmsc) -> None:
    import smpp_peers

    smsc.status_for = lambda n: S.ESME_RSUBMITFAIL
    with pytest.raises(RuntimeError, match="answered submit_sm_resp status 69"):
        await asyncio.to_thread(smpp_peers.check_with_smpplib, smsc.port, "bench", "bench")
