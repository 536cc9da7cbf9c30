"""SMPP over TLS (SIMRELAY_SMPP_TLS_PORT): smpplib binds through TLS, submits and gets its
receipt; a client that does not speak TLS gets nothing; the port needs a certificate."""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from simrelay.config import Settings
from tests.integration.gateway import gateway_env
from tests.integration.server import free_port
from tests.integration.smpp.smsc import RECEIPT_ESM, next_deliver_sm, open_smsc, submit

pytestmark = pytest.mark.integration


def certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the openssl command line, on every Debian)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_bind_submit_and_receipt_over_tls(tmp_path: Path) -> None:
    cert, key = certificate(tmp_path)
    env = gateway_env(tmp_path, "sqlite")
    tls_port = free_port()
    env.update(
        SIMRELAY_SMPP_TLS_PORT=str(tls_port), SIMRELAY_SMPP_TLS_CERT=str(cert), SIMRELAY_SMPP_TLS_KEY=str(key)
    )
    async with open_smsc(env, tmp_path) as smsc:
        await smsc.gateway.phone()
        trusting = ssl.create_default_context(cafile=str(cert))
        trusting.check_hostname = False  # smpplib wraps its socket without a server_hostname

        def run() -> tuple[str, str]:
            with smsc.bound(port=tls_port, tls=trusting) as client:
                sms_id = submit(client, "Over TLS", registered_delivery=1)
                receipt = next_deliver_sm(client)
                assert receipt.esm_class == RECEIPT_ESM
                return sms_id, receipt.receipted_message_id.decode()

        sms_id, receipted = await asyncio.to_thread(run)
        assert receipted == sms_id
        assert (await smsc.gateway.get(sms_id))["message"] == "Over TLS"

        def plain_text_to_the_tls_port() -> bytes:
            with socket.create_connection(("127.0.0.1", tls_port), timeout=10) as plain:
                # An SMPP bind_transmitter header where a TLS ClientHello should be.
                plain.sendall(bytes.fromhex("0000001700000002000000000000000161000062000034000000"))
                try:
                    return plain.recv(1024)
                except ConnectionResetError:
                    return b""

        assert b"\x80\x00\x00\x02" not in await asyncio.to_thread(plain_text_to_the_tls_port)


def test_a_tls_port_needs_a_certificate_and_key(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="SIMRELAY_SMPP_TLS_CERT"):
        Settings(data_dir=tmp_path, smpp_tls_port=2776)
