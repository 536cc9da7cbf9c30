"""Unknown paths and methods, OPTIONS and TRACE: the envelope names what was asked, and a 405
says what is allowed (issue 16, point 2)."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.integration


def in_envelope(response: httpx.Response, status: int) -> str:
    """The contract's error envelope with code 2010 and this HTTP status; returns the message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["errors"] and body["errors"]["code"] == 2010, body
    return str(body["errors"]["message"])


async def test_an_unknown_path_is_404_naming_the_path(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/smss", headers={"Accept-Language": "en"})
    assert in_envelope(response, 404) == "Unknown path /v1/smss"
    russian = await client.post("/v2/sms/send")
    assert in_envelope(russian, 404) == "Неизвестный путь /v2/sms/send"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/v1/sms/send", "OPTIONS, POST"),
        ("TRACE", "/v1/sms", "GET, OPTIONS"),
        ("DELETE", "/v1/sms/get", "OPTIONS, POST"),
        ("TRACE", "/healthz", "GET, HEAD, OPTIONS"),
        ("POST", "/mobile/v1/settings", "GET, HEAD, OPTIONS"),
    ],
)
async def test_a_wrong_method_is_405_naming_it_with_allow(
    client: httpx.AsyncClient, method: str, path: str, allowed: str
) -> None:
    response = await client.request(method, path, headers={"Accept-Language": "en"})
    message = in_envelope(response, 405)
    assert response.headers["allow"] == allowed
    assert message == f"Method {method} is not allowed on {path}; allowed: {allowed}"


async def test_options_answers_what_may_be_done(client: httpx.AsyncClient) -> None:
    for path, allowed in (("/v1/sms/send", "OPTIONS, POST"), ("/v1/webhooks", "GET, OPTIONS, POST")):
        response = await client.options(path)
        assert response.status_code == 204 and response.content == b""
        assert response.headers["allow"] == allowed
