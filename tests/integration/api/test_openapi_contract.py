"""The served OpenAPI document against the server itself: schemathesis, every check, a modest
number of cases, on a live server on 127.0.0.1 (issue 16, point 4). `bench/fuzz_api.py` runs
the same with many more cases and prints the figures.

Nothing leaves the machine: webhooks may name any address (so creating one looks nothing
up), and the courier's transport resolves without DNS and has every connection refused.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

import simrelay.app as app_module
from simrelay.accounts import guessing
from simrelay.api.connection import EdgeProtocol, EdgeWebSocketProtocol
from simrelay.app import API_ENDPOINTS
from simrelay.config import Settings
from simrelay.storage.db import create_engine
from simrelay.webhooks.client import WebhookClient
from tests.factories import Caller, make_caller, make_device
from tests.integration.server import free_port

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[3]
HOOKS = PROJECT / "bench" / "schemathesis_hooks.py"
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
EXAMPLES = 8
SEED = 16


async def resolve_offline(host: str, port: int) -> list[str]:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return ["93.184.216.34"]
    return [host]


def nowhere(ip: str) -> str:
    """Every webhook is dialled at a loopback address nobody listens on: nothing leaves the machine."""
    return "127.0.0.3"


async def prepare_account(url: str) -> tuple[Caller, str]:
    engine = create_engine(url)
    try:
        caller = await make_caller(engine, with_device=False)
        return caller, await make_device(engine, caller)
    finally:
        await engine.dispose()


@pytest.fixture
def live_server(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The app on 127.0.0.1 in a thread of its own (its own event loop), until the test ends."""
    monkeypatch.setattr(
        app_module,
        "WebhookClient",
        functools.partial(WebhookClient, resolver=resolve_offline, route=nowhere),
    )
    # The run sends a wrong token to every operation from one address: more than the free
    # tries of accounts/guessing.py, whose waits (1011) are tested in test_edge.py.
    monkeypatch.setattr(guessing, "TOKEN_POLICY", replace(guessing.TOKEN_POLICY, free=1000))
    app = app_module.create_app(settings.model_copy(update={"webhook_allow_private": True}))
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", http=EdgeProtocol, ws=EdgeWebSocketProtocol
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="openapi-contract-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=40)


def read_report(path: Path) -> dict[str, Any]:
    operations: set[str] = set()
    failures: list[str] = []
    server_errors: list[str] = []
    cases = 0
    for line in path.read_text().splitlines():
        finished = json.loads(line).get("ScenarioFinished")
        if finished is None:
            continue
        recorder = finished.get("recorder", {})
        label = recorder.get("label", "")
        if label.startswith(("GET ", "POST ", "DELETE ")):
            operations.add(label)
        cases += len(recorder.get("cases", {}))
        for checks in recorder.get("checks", {}).values():
            for check in checks:
                if check.get("status") == "failure":
                    failure = check.get("failure_info", {}).get("failure", {})
                    failures.append(f"{check['name']}: {failure.get('operation')}: {failure.get('message')}")
        for interaction in recorder.get("interactions", {}).values():
            status = (interaction.get("response") or {}).get("status_code", 0)
            if status >= 500:
                server_errors.append(f"{interaction['request']['method']} {interaction['request']['uri']}")
    return {"operations": operations, "cases": cases, "failures": failures, "server_errors": server_errors}


@pytest.mark.timeout(150)
def test_schemathesis_finds_nothing_outside_the_document(
    live_server: str, settings: Settings, tmp_path: Path
) -> None:
    caller, device_id = asyncio.run(prepare_account(settings.resolved_database_url()))
    report = tmp_path / "events.ndjson"
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{live_server}/openapi.json",
        *("--header", f"Authorization: Bearer {caller.token}"),
        *("--checks", "all"),
        *("--phases", "examples,coverage,fuzzing,stateful"),
        *("--max-examples", str(EXAMPLES)),
        *("--seed", str(SEED)),
        *("--workers", "1"),
        *("--generation-database", "none"),
        *("--suppress-health-check", "too_slow,filter_too_much"),
        *("--report", "ndjson", "--report-ndjson-path", str(report)),
        "--no-color",
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS), "SIMRELAY_FUZZ_KEEP_DEVICE": device_id}
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    found = read_report(report)
    assert found["server_errors"] == []
    assert found["failures"] == [], done.stdout[-6000:]
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert len(found["operations"]) == len(API_ENDPOINTS)
    assert found["cases"] > 20 * len(API_ENDPOINTS)


async def test_document_and_page_are_served(client: httpx.AsyncClient) -> None:
    document = await client.get("/openapi.json")
    assert document.status_code == 200
    assert document.headers["content-type"] == "application/json"
    assert document.json() == (await client.get("/v1/openapi.json")).json()
    assert document.json()["openapi"] == "3.1.0"
    page = await client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/v1/sms/send" in page.text and "<script" not in page.text
