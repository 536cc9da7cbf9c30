"""An SMPP client no one here wrote (smpplib) against a real `simrelay serve --smpp-port`: binds,
enquire_link, submit_sm of short, Cyrillic and long messages that the API then lists under the
ids the submit_sm_resp gave, refusals with their statuses, unbind."""

from __future__ import annotations

import contextlib
import signal
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import smpplib.client  # type: ignore[import-untyped]
import smpplib.consts  # type: ignore[import-untyped]
import smpplib.exceptions  # type: ignore[import-untyped]
import smpplib.gsm  # type: ignore[import-untyped]
import smpplib.smpp  # type: ignore[import-untyped]

from simrelay.smpp import users
from simrelay.smpp.codes import CommandStatus
from simrelay.storage.database import Database
from simrelay.storage.db import create_engine
from tests.factories import make_caller
from tests.integration.gateway import gateway_env
from tests.integration.rig import database_url
from tests.integration.server import Server, auth, free_port_besides

pytestmark = pytest.mark.integration

S = CommandStatus
SYSTEM_ID, PASSWORD = "billing", "s3cret"


@dataclass
class Smsc:
    server: Server
    smpp_port: int
    http: httpx.AsyncClient
    token: str

    @contextlib.contextmanager
    def client(self) -> Iterator[Any]:
        client = smpplib.client.Client("127.0.0.1", self.smpp_port, timeout=10, allow_unknown_opt_params=True)
        client.connect()
        try:
            yield client
        finally:
            client.disconnect()

    async def listed(self) -> dict[str, dict[str, Any]]:
        response = await self.http.get("/v1/sms", headers=auth(self.token), params={"limit": 100})
        assert response.status_code == 200, response.text
        return {sms["id"]: sms for sms in response.json()["sms_list"]}


@pytest.fixture(params=["sqlite", "postgres"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    return gateway_env(tmp_path, request.param)


@pytest.fixture
async def smsc(env: dict[str, str], tmp_path: Path) -> AsyncIterator[Smsc]:
    async with open_smsc(env, tmp_path) as smsc:
        yield smsc


@contextlib.asynccontextmanager
async def open_smsc(env: dict[str, str], tmp_path: Path) -> AsyncIterator[Smsc]:
    """The server of `env`, an account with an active device and the SMPP user SYSTEM_ID."""
    server = Server(env, tmp_path / "logs")
    port = free_port_besides(server.port)
    server.env["SIMRELAY_SMPP_PORT"] = str(port)
    server.start()
    try:
        engine = create_engine(database_url(env))
        try:
            caller = await make_caller(engine, email="smpp@example.com")
            await users.create_user(
                Database.on_engine(engine),
                account_id=caller.account_id,
                system_id=SYSTEM_ID,
                password=PASSWORD,
            )
        finally:
            await engine.dispose()
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            yield Smsc(server, port, http, caller.token)
    finally:
        server.kill()


def status_of_bind(client: Any, password: str, system_id: str = SYSTEM_ID) -> int:
    try:
        client.bind_transmitter(system_id=system_id, password=password)
    except smpplib.exceptions.PDUError as error:
        return int(error.args[1])
    return S.ESME_ROK


def submit(client: Any, **fields: Any) -> Any:
    """Sends one submit_sm and reads its response (the PDU smpplib parsed)."""
    fields = {"source_addr": "Shop", "dest_addr_ton": smpplib.consts.SMPP_TON_INTL, **fields}
    sent = client.send_message(**fields)
    answer = client.read_pdu()
    assert answer.command == "submit_sm_resp" and answer.sequence == sent.sequence
    return answer


def message_id(answer: Any) -> str:
    assert answer.status == S.ESME_ROK, answer.status
    return answer.message_id.decode()


async def test_bind_submit_and_the_api_lists_what_was_submitted(smsc: Smsc) -> None:
    with smsc.client() as client:
        assert status_of_bind(client, "wrong") == S.ESME_RINVPASWD
        assert status_of_bind(client, PASSWORD, system_id="nobody") == S.ESME_RINVPASWD
        assert status_of_bind(client, PASSWORD) == S.ESME_ROK

        enquired = client.send_pdu(smpplib.smpp.make_pdu("enquire_link", client=client))
        assert enquired and client.read_pdu().command == "enquire_link_resp"

        short = message_id(submit(client, destination_addr="79990001122", short_message=b"Hello SMPP"))
        gsm7 = smpplib.gsm.gsm_encode("Hello [SMPP] €5")
        escaped = message_id(submit(client, destination_addr="79990001123", short_message=gsm7))
        cyrillic = message_id(
            submit(
                client,
                destination_addr="79990001124",
                data_coding=smpplib.consts.SMPP_ENCODING_ISO10646,
                short_message="Привет, мир!".encode("utf-16-be"),
            )
        )

        long_text = "Долгое сообщение из нескольких частей. " * 6  # UCS-2, 4 parts by UDH
        parts, coding, esm_class = smpplib.gsm.make_parts(long_text)
        assert len(parts) == 4 and esm_class == 0x40
        part_ids = [
            message_id(
                submit(
                    client,
                    destination_addr="79990001125",
                    short_message=p,
                    data_coding=coding,
                    esm_class=esm_class,
                )
            )
            for p in parts
        ]
        assert len(set(part_ids)) == 1  # every part answers with the id of the one SMS

        sar_text = "Latin text sent in two SAR segments, which smpplib leaves to the caller. " * 3
        encoded = sar_text.encode("ascii")
        halves = [encoded[: len(encoded) // 2], encoded[len(encoded) // 2 :]]
        sar_ids = [
            message_id(
                submit(
                    client,
                    destination_addr="79990001126",
                    short_message=half,
                    sar_msg_ref_num=4242,
                    sar_total_segments=2,
                    sar_segment_seqnum=seq,
                )
            )
            for seq, half in enumerate(halves, start=1)
        ]
        assert sar_ids[0] == sar_ids[1]

        bad_number = submit(client, destination_addr="12", short_message=b"to nobody")
        assert bad_number.status == S.ESME_RINVDSTADR
        empty = submit(client, destination_addr="79990001127", short_message=b"   ")
        assert empty.status == S.ESME_RINVMSGLEN

        unbound = client.unbind()
        assert unbound.command == "unbind_resp" and unbound.status == S.ESME_ROK
        with pytest.raises(smpplib.exceptions.ConnectionError):
            client.read_pdu()  # the server closed the connection

    listed = await smsc.listed()
    assert {sms_id: (sms["phone_number"], sms["message"]) for sms_id, sms in listed.items()} == {
        short: ("79990001122", "Hello SMPP"),
        escaped: ("79990001123", "Hello [SMPP] €5"),
        cyrillic: ("79990001124", "Привет, мир!"),
        part_ids[0]: ("79990001125", long_text),
        sar_ids[0]: ("79990001126", sar_text),
    }


async def test_session_rules_seen_by_a_real_client(smsc: Smsc) -> None:
    with smsc.client() as client:
        # smpplib itself refuses to submit before a bind: pretend to be bound to send one anyway.
        client.state = smpplib.consts.SMPP_CLIENT_STATE_BOUND_TX
        assert (
            submit(client, destination_addr="79990001122", short_message=b"early").status == S.ESME_RINVBNDSTS
        )
        client.state = smpplib.consts.SMPP_CLIENT_STATE_OPEN

        assert status_of_bind(client, PASSWORD) == S.ESME_ROK
        client.state = smpplib.consts.SMPP_CLIENT_STATE_OPEN  # smpplib would not send a second bind
        assert status_of_bind(client, PASSWORD) == S.ESME_RALYBND
        client.state = smpplib.consts.SMPP_CLIENT_STATE_BOUND_TX

        # A command_id SMPP 3.4 does not have.
        client._socket.sendall(bytes.fromhex("00000010000007770000000000000063"))
        nack = client.read_pdu()
        assert (nack.command, nack.status, nack.sequence) == ("generic_nack", S.ESME_RINVCMDID, 0x63)

    with smsc.client() as receiver:
        receiver.bind_receiver(system_id=SYSTEM_ID, password=PASSWORD)
        receiver.state = smpplib.consts.SMPP_CLIENT_STATE_BOUND_TX
        refused = submit(receiver, destination_addr="79990001122", short_message=b"from a receiver")
        assert refused.status == S.ESME_RINVBNDSTS

    assert await smsc.listed() == {}
    with smsc.client() as bound:  # still listening after all of that
        bound.bind_transceiver(system_id=SYSTEM_ID, password=PASSWORD)
        # SIGTERM: the server ends the bound session and exits as gracefully as without one.
        assert smsc.server.stop() == -signal.SIGTERM
        with pytest.raises(smpplib.exceptions.ConnectionError):
            bound.read_pdu()
        bound.state = smpplib.consts.SMPP_CLIENT_STATE_OPEN  # nothing to unbind from
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", smsc.smpp_port), timeout=5).close()


async def test_submit_sm_spends_the_accounts_rate_limit(tmp_path: Path) -> None:
    env = gateway_env(tmp_path, "sqlite", rate_limit="3")
    async with open_smsc(env, tmp_path) as smsc:
        with smsc.client() as client:
            client.bind_transmitter(system_id=SYSTEM_ID, password=PASSWORD)
            sent = [
                client.send_message(destination_addr="79990001122", short_message=b"burst") for _ in range(10)
            ]
            answers = [client.read_pdu() for _ in sent]
        statuses = [answer.status for answer in answers]
        # 3 a second: ten at once span at most a window or two.
        assert statuses.count(S.ESME_RTHROTTLED) >= 4
        assert set(statuses) == {S.ESME_ROK, S.ESME_RTHROTTLED}
        stored = {answer.message_id.decode() for answer in answers if answer.status == S.ESME_ROK}
        assert set(await smsc.listed()) == stored
