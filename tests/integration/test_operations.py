"""Operations: health and readiness, Prometheus metrics, structured logs, OpenAPI, graceful shutdown."""

from __future__ import annotations

import asyncio
import re
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from simrelay.config import Settings
from tests.conftest import SECRET, running_client
from tests.integration.server import Server, auth, make_account, server_env

pytestmark = pytest.mark.integration

SMS = {"message": "operations", "phone_number": "79990001122"}


@dataclass
class Ops:
    env: dict[str, str]
    server: Server
    token: str
    logs: Path


@pytest.fixture(scope="module")
def ops(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ops]:
    """A SQLite server with the access log on, and an account with a device."""
    root = tmp_path_factory.mktemp("ops")
    env = server_env(root / "data", access_log="true")
    caller = make_account(env, "ops@example.com")
    with Server(env, root / "logs", name="ops") as server:
        yield Ops(env, server, caller["token"], root / "logs")


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    """{(sample name, labels): value} of a Prometheus exposition."""
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(scraped: Samples, name: str, **labels: str) -> float:
    return scraped.get((name, frozenset(labels.items())), 0.0)


def test_healthz_and_readyz(ops: Ops) -> None:
    with httpx.Client(base_url=ops.server.base_url, timeout=10) as http:
        alive = http.get("/healthz")
        ready = http.get("/readyz")
    assert alive.status_code == 200, alive.text
    assert alive.json() == {"status": "ok"}
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "ready"


async def test_readyz_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    # `serve` migrates before listening, so a server on a dead database never starts; the app's
    # lifespan does not connect, so the in-process app shows what readiness says in an outage.
    settings = Settings(
        database_url="postgresql+asyncpg://postgres@127.0.0.1:1/simrelay",
        data_dir=tmp_path,
        secret_key=SecretStr(SECRET),
        rate_limit=0,
        access_log=False,
    )
    async with running_client(settings) as http:
        assert (await http.get("/healthz")).status_code == 200
        ready = await http.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"
    assert ready.json()["checks"]["database"].startswith("failed: ")  # the error's type, never its text
    assert ready.json()["checks"]["migrations"] == "unknown"


def test_metrics_count_requests_latency_and_stored_sms(ops: Ops) -> None:
    with httpx.Client(base_url=ops.server.base_url, timeout=10) as http:
        before = samples(http.get("/metrics").text)
        for _ in range(3):
            assert http.post("/v1/sms/send", headers=auth(ops.token), json=SMS).status_code == 200
        assert http.get("/v1/sms", params={"limit": 1}).status_code == 401
        total = http.get("/v1/sms", headers=auth(ops.token), params={"limit": 1}).json()
        response = http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = samples(response.text)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    # The endpoint label is the endpoint's name (the same for /v1/sms/send and /sms/send).
    requests = "simrelay_http_requests_total"
    assert delta(requests, endpoint="sms-send", method="POST", status="200") == 3
    assert delta(requests, endpoint="sms-list", method="GET", status="401") == 1
    assert delta(requests, endpoint="sms-list", method="GET", status="200") == 1
    latency = "simrelay_http_request_duration_seconds"
    assert delta(f"{latency}_count", endpoint="sms-send") == 3
    assert delta(f"{latency}_bucket", endpoint="sms-send", le="+Inf") == 3
    assert delta(f"{latency}_bucket", endpoint="sms-send", le="0.001") <= 3
    buckets = {dict(labels)["le"] for name, labels in after if name == f"{latency}_bucket"}
    assert {"0.001", "0.01", "0.1", "1.0", "5.0", "+Inf"} <= buckets
    # Every SMS in this database belongs to this account; none was deleted.
    assert value(after, "simrelay_sms", status="0") == total["pagination"]["total_records"] > 0
    assert value(after, "simrelay_sms", status="1") == 0


def test_metrics_with_two_workers_add_up_all_processes(ops: Ops) -> None:
    with Server(ops.env, ops.logs, workers=2, name="workers") as server:
        for _ in range(10):
            # A new connection each time, so the requests spread over both workers.
            with httpx.Client(base_url=server.base_url, timeout=10) as http:
                assert http.get("/v1/sms", params={"limit": 1}).status_code == 401
        with httpx.Client(base_url=server.base_url, timeout=10) as http:
            stored = http.get("/v1/sms", headers=auth(ops.token), params={"limit": 1}).json()
        scrapes = []
        for _ in range(4):
            with httpx.Client(base_url=server.base_url, timeout=10) as http:
                response = http.get("/metrics")
            assert response.status_code == 200
            scrapes.append(samples(response.text))
        files = {p.name for p in (Path(ops.env["SIMRELAY_DATA_DIR"]) / "prometheus").iterdir()}
    assert files, "no multiprocess metric files were written"
    for scraped in scrapes:
        # Whichever worker answers the scrape, it reports the sum over all workers.
        labels = {"endpoint": "sms-list", "method": "GET", "status": "401"}
        assert value(scraped, "simrelay_http_requests_total", **labels) == 10
        assert value(scraped, "simrelay_sms", status="0") == stored["pagination"]["total_records"]


def test_logs_are_json_with_request_id_and_error_hash(ops: Ops) -> None:
    given = f"ops-{uuid.uuid4().hex[:8]}"
    failing = f"ops-err-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=ops.server.base_url, timeout=10) as http:
        ok = http.get("/v1/sms", headers={**auth(ops.token), "X-Request-ID": given}, params={"limit": 1})
        generated = http.get("/healthz")
        error = http.post("/v1/sms/send", headers={"X-Request-ID": failing}, json=SMS)
    assert ok.status_code == 200
    assert ok.headers["x-request-id"] == given
    assert re.fullmatch(r"[0-9a-f]{16}", generated.headers["x-request-id"])
    assert error.status_code == 401
    assert error.headers["x-request-id"] == failing
    occurrence = error.json()["errors"]["hash"]
    assert re.fullmatch(r"[0-9a-f]{12}", occurrence)

    access = ops.server.wait_for_log(lambda r: r.get("request_id") == given and r["event"] == "request")
    assert (access["method"], access["path"], access["status"], access["level"]) == (
        "GET",
        "/v1/sms",
        200,
        "info",
    )
    assert "timestamp" in access
    ops.server.wait_for_log(
        lambda r: r.get("request_id") == generated.headers["x-request-id"] and r["path"] == "/healthz"
    )
    logged = ops.server.wait_for_log(lambda r: r.get("hash") == occurrence)
    assert logged["event"] == "api_error"
    assert logged["request_id"] == failing
    assert (logged["code"], logged["method"], logged["path"]) == (1003, "POST", "/v1/sms/send")
    finished = ops.server.wait_for_log(lambda r: r.get("request_id") == failing and r["event"] == "request")
    assert finished["status"] == 401
    assert "Bearer" not in ops.server.stderr()  # tokens never reach the log


def test_openapi_document(ops: Ops) -> None:
    with httpx.Client(base_url=ops.server.base_url, timeout=10) as http:
        response = http.get("/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    paths = document["paths"]
    assert {"/v1/sms/send", "/v1/sms/get", "/v1/sms/del", "/v1/sms"} <= set(paths)
    assert {"/v1/devices", "/v1/devices/get/info", "/v1/devices/edit", "/v1/devices/del"} <= set(paths)
    assert all(path.startswith("/v1/") for path in paths), "root aliases or ops endpoints are listed"
    assert set(paths["/v1/sms/send"]) == {"post"}
    assert set(paths["/v1/sms/del"]) == {"delete"}
    envelope = {"$ref": "#/components/schemas/ErrorEnvelope"}
    for path, methods in paths.items():
        for method, operation in methods.items():
            unauthorized = operation["responses"]["401"]
            schema = unauthorized["content"]["application/json"]["schema"]
            assert schema["allOf"] == [envelope], (path, method)
            assert schema["properties"]["errors"]["properties"]["code"]["enum"] == [1003]
            assert "1003" in unauthorized["description"]
    send = paths["/v1/sms/send"]["post"]["responses"]
    assert {"200", "400", "401", "403", "404", "413", "429"} <= set(send)
    schemas = document["components"]["schemas"]
    assert set(schemas["ErrorEnvelope"]["properties"]) == {"errors"}
    assert set(schemas["ErrorBody"]["properties"]) == {"code", "message", "hash"}
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    assert document["security"] == [{"bearer": []}]


async def test_sigterm_finishes_in_flight_sends(ops: Ops) -> None:
    server = Server(ops.env, ops.logs, name="graceful").start()
    outcomes: list[tuple[float, httpx.Response | Exception]] = []
    try:
        limits = httpx.Limits(max_connections=10)
        async with httpx.AsyncClient(base_url=server.base_url, limits=limits, timeout=30) as http:
            gate = asyncio.Semaphore(10)
            answered = asyncio.Event()

            async def one() -> None:
                async with gate:
                    try:
                        result: httpx.Response | Exception = await http.post(
                            "/v1/sms/send", headers=auth(ops.token), json=SMS
                        )
                    except httpx.TransportError as exc:
                        result = exc
                    outcomes.append((time.monotonic(), result))
                    if len(outcomes) >= 10:
                        answered.set()

            tasks = [asyncio.create_task(one()) for _ in range(50)]
            await asyncio.wait_for(answered.wait(), 30)
            server.signal(signal.SIGTERM)
            signalled = time.monotonic()
            await asyncio.wait_for(asyncio.gather(*tasks), 60)
        server.wait()
    finally:
        server.kill()

    responses = [result for _, result in outcomes if isinstance(result, httpx.Response)]
    assert len(outcomes) == 50
    assert [r.status_code for r in responses] == [200] * len(responses), [r.text for r in responses]
    finished_late = [at for at, result in outcomes if isinstance(result, httpx.Response) and at > signalled]
    assert finished_late, "no request was still in flight at SIGTERM"
    assert server.wait_for_log(lambda r: r["event"] == "stopped")

    # Another process on the same database (a restart, in effect) finds every acknowledged SMS.
    with httpx.Client(base_url=ops.server.base_url, timeout=10) as check:
        for response in responses:
            got = check.post("/v1/sms/get", headers=auth(ops.token), json=response.json())
            assert got.status_code == 200, f"acknowledged {response.json()} is lost"
