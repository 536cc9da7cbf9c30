"""An emulator of the SMS Gateway for Android app (capcom6/android-sms-gateway) as it talks to
a private server: what it sends and how it reacts, as read from the app's public source. Each
behaviour cites where (repository@commit:path#lines) so that a reader can check it.

Sources (abbreviated below):
- API  = capcom6/android-sms-gateway@ced27cbb2e7a7ac4061d9f03897a416c2d62d31a:
         app/src/main/java/me/capcom/smsgateway/modules/gateway/GatewayApi.kt
- SVC  = capcom6/android-sms-gateway@38208155fad8491b492386519ca68a1b3fe37a35:
         app/src/main/java/me/capcom/smsgateway/modules/gateway/GatewayService.kt
- SSE  = capcom6/android-sms-gateway@7a313368aeb6c3d3e5abf7e40ec285bfbb6da1f7:
         app/src/main/java/me/capcom/smsgateway/helpers/SSEManager.kt
- SIGN = capcom6/android-sms-gateway@15b9753d29cdc809c0e907ce273ff7a251780834:
         app/src/main/java/me/capcom/smsgateway/modules/webhooks/plugins/PayloadSingingPlugin.kt
- HOOK = capcom6/android-sms-gateway@719d7e702b9f97b16c2b96f09de913470a06a6c7:
         app/src/main/java/me/capcom/smsgateway/modules/webhooks/WebHooksService.kt
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import random
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

USER_AGENT = "me.capcom.smsgateway/1.40.0"
"""API#L36-L46: `me.capcom.smsgateway/<VERSION_NAME>`."""


def app_date(moment: float) -> str:
    """The app's Gson date pattern `yyyy-MM-dd'T'HH:mm:ss.SSSXXX`, local zone (here +03:00):
    capcom6/android-sms-gateway@a6410c8eaef1ab94626e9f4984166a0951d8c8a8:
    app/src/main/java/me/capcom/smsgateway/extensions/GsonBuilder.kt#L7-L15."""
    local = dt.datetime.fromtimestamp(moment, tz=dt.timezone(dt.timedelta(hours=3)))
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}+03:00"


@dataclass
class Local:
    """One message in the app's own database (unique by id: SVC#L276-L306)."""

    id: str
    phone_numbers: list[str]
    sim_number: int | None
    text: str
    state: str = "Pending"
    states: dict[str, str] = field(default_factory=dict)
    cancelled: bool = False


@dataclass
class Options:
    send: bool = True
    """Send what it fetches (False: keep it Pending, as under the app's own limits)."""
    deliver: bool = True
    """Delivery reports come back (False: messages end at Sent)."""
    sims: list[int] = field(default_factory=lambda: [0])
    """slotIndex of each SIM card."""
    shuffle_patches: bool = False
    """PATCH retries arrive late, repeated and out of order (WorkManager, up to 10 tries:
    capcom6/android-sms-gateway@38208155fad8491b492386519ca68a1b3fe37a35:
    app/src/main/java/me/capcom/smsgateway/modules/gateway/workers/SendStateWorker.kt#L51-L70)."""
    poll_seconds: float | None = None
    """Pull every so often (the ping interval); None: only on events."""
    use_sse: bool = True


class SmsGateApp:
    def __init__(
        self,
        base_url: str,
        *,
        name: str = "samsung/a52",
        options: Options | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.base = base_url.rstrip("/") + "/mobile/v1"
        self.name = name
        self.options = options or Options()
        self.http = httpx.AsyncClient(timeout=10, headers={"user-agent": USER_AGENT}, verify=verify)
        self.device_id = ""
        self.token = ""
        self.login = ""
        self.messages: dict[str, Local] = {}
        self.sent: list[str] = []
        """Ids handed to the radio, in order: more than once would be a double send."""
        self.settings: dict[str, Any] = {}
        self.webhooks: list[dict[str, Any]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.events: list[tuple[str, Any]] = []

    # --- registration: API#L54-L85, SVC#L107-L167 ---------------------------------------------

    def sim_cards(self) -> list[dict[str, Any]]:
        """SimCard {slotIndex, simNumber, phoneNumber?, carrierName?, iccid?}: API#L259-L265;
        masked to `*` but the last 4 characters: SVC#L196-L204."""
        return [
            {
                "slotIndex": slot,
                "simNumber": slot + 1,
                "phoneNumber": "*******1234",
                "carrierName": f"Carrier {slot}",
            }
            for slot in self.options.sims
        ]

    async def register(self, authorization: str) -> httpx.Response:
        """POST /device {name, pushToken, simCards} -> 201 {id, token, login, password?}."""
        body = {"name": self.name, "pushToken": None, "simCards": self.sim_cards()}
        response = await self.http.post(
            f"{self.base}/device", json=body, headers={"authorization": authorization}
        )
        if response.status_code == 201:
            answer = response.json()
            self.device_id, self.token, self.login = answer["id"], answer["token"], answer["login"]
        return response

    async def start(self, *, register_with: str = "") -> None:
        """App start: PATCH /device when registered; only a 401 there registers anew
        (SVC#L107-L167). Then settings, webhooks, SSE (no FCM token) and a first pull."""
        if self.token:
            response = await self.call(
                "PATCH", "/device", {"id": self.device_id, "pushToken": None, "simCards": self.sim_cards()}
            )
            if response.status_code == 401:
                assert register_with, "401 at start and nothing to register with"
                assert (await self.register(register_with)).status_code == 201
            else:
                assert response.status_code == 204, response.text
        else:
            assert (await self.register(register_with)).status_code == 201
        self.settings = (await self.call("GET", "/settings")).json()
        self.webhooks = (await self.call("GET", "/webhooks")).json()
        if self.options.use_sse:
            self._tasks.append(asyncio.create_task(self._listen()))
        if self.options.poll_seconds:
            self._tasks.append(asyncio.create_task(self._poll()))
        await self.pull()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()

    async def close(self) -> None:
        await self.stop()
        await self.http.aclose()

    async def call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        """Bearer device token on every call after registration: API#L148-L150."""
        headers = {"authorization": f"Bearer {self.token}"}
        return await self.http.request(method, f"{self.base}{path}", json=body, headers=headers)

    # --- wake-ups ------------------------------------------------------------------------------

    async def _listen(self) -> None:
        """GET /events; `event:` names the type, `data:` its JSON; reconnect after 5 s (here
        0.2 s): SSE#L41-L54, #L66-L80; on connect, pull (SSEForegroundService#L51-L54)."""
        while True:
            try:
                headers = {"authorization": f"Bearer {self.token}", "accept": "text/event-stream"}
                async with self.http.stream(
                    "GET", f"{self.base}/events", headers=headers, timeout=None
                ) as response:
                    if response.status_code != 200:
                        raise RuntimeError(response.status_code)
                    await self.pull()
                    kind = ""
                    async for line in response.aiter_lines():
                        if line.startswith("event:"):
                            kind = line.partition(":")[2].strip()
                        elif line.startswith("data:"):
                            data = json.loads(line.partition(":")[2].strip() or "null")
                            self.events.append((kind, data))
                            await self.pull()  # MessageEnqueued pulls; MessageCancelled too, here
                            kind = ""
            except (httpx.HTTPError, RuntimeError):
                pass
            await asyncio.sleep(0.2)

    async def _poll(self) -> None:
        assert self.options.poll_seconds
        while True:
            await asyncio.sleep(self.options.poll_seconds)
            with contextlib.suppress(httpx.HTTPError):
                await self.pull()

    # --- messages: SVC#L240-L318 ---------------------------------------------------------------

    async def pull(self) -> None:
        """GET /message?order=lifo (API#L87-L92, #L247-L257) and handle each item."""
        response = await self.call("GET", "/message?order=lifo")
        if response.status_code != 200:
            return
        for item in response.json():
            await self._handle(item)

    async def _handle(self, item: dict[str, Any]) -> None:
        known = self.messages.get(item["id"])
        if item.get("state") == "Cancelling":
            # SVC#L246-L266: unknown -> PATCH Cancelled; known and still Pending -> cancel
            # (which PATCHes Cancelled); known and past Pending -> nothing at all.
            if known is None:
                ghost = Local(item["id"], item["phoneNumbers"], item.get("simNumber"), "")
                await self._set(ghost, "Cancelled")
            elif known.state == "Pending":
                known.cancelled = True
                await self._set(known, "Cancelled")
            return
        if known is not None:
            await self._patch(known)  # re-PATCH its current state: SVC#L276-L280
            return
        text = (item.get("textMessage") or {}).get("text", item.get("message"))
        local = Local(item["id"], item["phoneNumbers"], item.get("simNumber"), text)
        self.messages[local.id] = local
        local.states["Pending"] = app_date(time.time())
        if self.options.send:
            asyncio.get_running_loop().create_task(self.send(local))

    async def send(self, local: Local) -> None:
        if local.cancelled or local.state != "Pending":
            return
        self.sent.append(local.id)
        await self._set(local, "Processed")
        await self._set(local, "Sent")
        if self.options.deliver:
            await self._set(local, "Delivered")

    async def _set(self, local: Local, state: str, error: str | None = None) -> None:
        local.state = state
        local.states[state] = app_date(time.time())
        await self._patch(local, error=error)

    async def _patch(self, local: Local, *, error: str | None = None) -> None:
        """PATCH /message [{id, state, recipients[{phoneNumber, state, error?}], states}]: one
        item with the message's full state (API#L180-L185, #L235-L239; SVC#L309-L318)."""
        item = {
            "id": local.id,
            "state": local.state,
            "recipients": [
                {"phoneNumber": number, "state": local.state, "error": error}
                for number in local.phone_numbers
            ],
            "states": dict(local.states),
        }
        if self.options.shuffle_patches:
            for _ in range(random.randint(1, 3)):  # a retry may repeat it, later
                asyncio.get_running_loop().create_task(self._late_patch(item, random.uniform(0, 0.4)))
        else:
            response = await self.call("PATCH", "/message", [item])
            assert response.status_code == 204, response.text

    async def _late_patch(self, item: dict[str, Any], delay: float) -> None:
        await asyncio.sleep(delay)
        with contextlib.suppress(httpx.HTTPError):
            await self.call("PATCH", "/message", [item])

    # --- the app's own webhooks: HOOK#L109-L135, SIGN#L17-L60 ---------------------------------

    async def emit(self, event: str, payload: dict[str, Any]) -> httpx.Response:
        """{id, webhookId, event, deviceId, payload}, signed: X-Timestamp (Unix seconds) and
        X-Signature = hex HMAC-SHA256(signing_key, body + timestamp)."""
        hook = next(h for h in self.webhooks if h["event"] == event)
        body = json.dumps(
            {
                "id": f"hook-{random.getrandbits(48):x}",
                "webhookId": hook["id"],
                "event": event,
                "deviceId": self.device_id,
                "payload": payload,
            }
        )
        stamp = str(int(time.time()))
        key = self.settings["webhooks"]["signing_key"]
        signature = hmac.new(key.encode(), (body + stamp).encode(), hashlib.sha256).hexdigest()
        headers = {"content-type": "application/json", "x-timestamp": stamp, "x-signature": signature}
        return await self.http.post(hook["url"], content=body, headers=headers)
