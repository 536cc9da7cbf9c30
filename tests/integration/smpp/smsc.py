"""A real `simrelay serve --smpp-port` with simulated phones, an SMPP user and smpplib: what the
SMPP tests of receipts, MO and sender mappings share."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import smpplib.client  # type: ignore[import-untyped]
import smpplib.consts  # type: ignore[import-untyped]
import smpplib.gsm  # type: ignore[import-untyped]
import smpplib.smpp  # type: ignore[import-untyped]

from simrelay.smpp.codes import CommandStatus
from tests.integration.gateway import Gateway, open_gateway
from tests.integration.server import Server, cli_json, free_port_besides

S = CommandStatus
SYSTEM_ID, PASSWORD = "billing", "s3cret"
RECEIPT_ESM = 0x04


@dataclass
class Smsc:
    gateway: Gateway
    smpp_port: int

    @contextlib.contextmanager
    def bound(
        self, mode: str = "transceiver", *, port: int | None = None, tls: ssl.SSLContext | None = None
    ) -> Iterator[Any]:
        client = smpplib.client.Client(
            "127.0.0.1", port or self.smpp_port, timeout=20, allow_unknown_opt_params=True, ssl_context=tls
        )
        client.connect()
        try:
            getattr(client, f"bind_{mode}")(system_id=SYSTEM_ID, password=PASSWORD)
            yield client
        finally:
            client.disconnect()


@contextlib.asynccontextmanager
async def open_smsc(env: dict[str, str], tmp_path: Path) -> AsyncIterator[Smsc]:
    server = Server(env, tmp_path / "logs")
    port = free_port_besides(server.port)
    server.env["SIMRELAY_SMPP_PORT"] = str(port)
    server.start()
    gateway = await open_gateway(server)
    try:
        cli_json(
            server.env,
            *("smpp", "user", "create", gateway.email, "--system-id", SYSTEM_ID, "--password", PASSWORD),
            "--json",
        )
        yield Smsc(gateway, port)
    finally:
        await gateway.close()
        server.kill()


def submit(client: Any, text: str, **fields: Any) -> str:
    """submit_sm of `text` (in parts if long) to +79990001122 from "Shop" unless `fields` say
    otherwise; the SMS id answered."""
    parts, coding, esm_class = smpplib.gsm.make_parts(text)
    ids = set()
    for part in parts:
        addresses = {
            "source_addr_ton": smpplib.consts.SMPP_TON_ALNUM,
            "source_addr": "Shop",
            "dest_addr_ton": smpplib.consts.SMPP_TON_INTL,
            "destination_addr": "79990001122",
        }
        sent = client.send_message(
            short_message=part, data_coding=coding, esm_class=esm_class, **{**addresses, **fields}
        )
        answer = client.read_pdu()
        assert (answer.command, answer.sequence, answer.status) == ("submit_sm_resp", sent.sequence, 0)
        ids.add(answer.message_id.decode())
    assert len(ids) == 1
    return ids.pop()


def next_deliver_sm(client: Any, *, answer: int | None = S.ESME_ROK) -> Any:
    """The next deliver_sm, answered with `answer` (None: left unanswered); enquire_links on the
    way are answered as a client must."""
    while True:
        pdu = client.read_pdu()
        if pdu.command == "enquire_link":
            client.send_pdu(answer_to(client, "enquire_link_resp", pdu))
            continue
        assert pdu.command == "deliver_sm", pdu.command
        if answer is not None:
            client.send_pdu(answer_to(client, "deliver_sm_resp", pdu, status=answer))
        return pdu


def answer_to(client: Any, command: str, pdu: Any, status: int = S.ESME_ROK) -> Any:
    response = smpplib.smpp.make_pdu(command, client=client, status=status)
    response.sequence = pdu.sequence  # as smpplib's own Client._message_received sets it
    return response


def nothing_more(client: Any, seconds: float = 2.0) -> None:
    client._socket.settimeout(seconds)
    try:
        with pytest.raises(TimeoutError):
            client.read_pdu()
    finally:
        client._socket.settimeout(20)
