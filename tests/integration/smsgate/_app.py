"""The emulated app: registration, start-up, wake-ups (event stream, pings, periodic pulls),
its local message database, a radio that works offline, and state reports that wait for the
network and are retried (P = app/src/main/java/me/capcom/smsgateway, v1.68.0 unless a profile
says otherwise; _profile.py has the version differences)."""

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

from simrelay.agent.simulator import Ledger
from tests.integration.smsgate._profile import LATEST, Profile

PATCH_RETRIES = 10
"""SendStateWorker retries a report 10 times, backing off exponentially from 10 s (here
scaled down): P/modules/gateway/workers/SendStateWorker.kt#L49-L59."""


def app_date(moment: float) -> str:
    """The app's Gson date pattern `yyyy-MM-dd'T'HH:mm:ss.SSSXXX`, local zone (here +03:00):
    P/extensions/GsonBuilder.kt#L7-L15."""
    local = dt.datetime.fromtimestamp(moment, tz=dt.timezone(dt.timedelta(hours=3)))
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}+03:00"


@dataclass
class Local:
    """One message in the app's own database (unique by id: GatewayService.kt#L276-L306)."""

    id: str
    phone_numbers: list[str]
    sim_number: int | None
    text: str
    valid_until: str | None = None
    state: str = "Pending"
    states: dict[str, str] = field(default_factory=dict)
    error: str | None = None

    @property
    def cancelled(self) -> bool:
        return self.state == "Cancelled"


@dataclass
class Options:
    send: bool = True
    """Send what it fetches (False: hold it Pending, as under the app's own limits, until release())."""
    pause_after_processed: bool = False
    """Stop after Processed (the radio has it) until release(): to go offline just then."""
    deliver: bool = True
    """Delivery reports come back (False: messages end at Sent)."""
    fail_rate: float = 0.0
    """Share of sends the radio refuses (Failed "Send result: RESULT_ERROR_GENERIC_FAILURE")."""
    sims: list[int] = field(default_factory=lambda: [0])
    """slotIndex of each SIM card."""
    shuffle_patches: bool = False
    """Report workers run late and out of order (one per change, each reading the state when it
    runs: SendStateWorker.kt#L30), some twice."""
    poll_seconds: float | None = None
    """The ping interval if the server gives none (each ping pulls: EventsReceiver.kt#L54-L63)."""
    periodic_pull_seconds: float | None = None
    """PullMessagesWorker's 15-minute period, scaled down (PullMessagesWorker.kt#L42-L57)."""
    firebase: bool = False
    """The phone has Google services: the app gets a Firebase token, which simrelay cannot use,
    and opens an event stream only when told SSE_ONLY (v1.53.0+)."""
    send_ms: tuple[int, int] = (5, 20)
    backoff_seconds: float = 0.05
    """SendStateWorker's first backoff (10 s in the app)."""


class SmsGateApp:
    def __init__(
        self,
        base_url: str,
        *,
        name: str = "samsung/a52",
        options: Options | None = None,
        profile: Profile = LATEST,
        verify: ssl.SSLContext | bool = True,
        ledger: Ledger | None = None,
    ) -> None:
        self.base = base_url.rstrip("/") + "/mobile/v1"
        self.name = name
        self.options = options or Options()
        self.profile = profile
        self.ledger = ledger
        self.http = httpx.AsyncClient(timeout=10, headers={"user-agent": profile.user_agent}, verify=verify)
        self.device_id = ""
        self.token = ""
        self.login = ""
        self.messages: dict[str, Local] = {}
        self.sent: list[str] = []
        """Ids handed to the radio, in order: more than once would be a double send."""
        self.settings: dict[str, Any] = {}
        self.imported: dict[str, Any] = {}
        """Settings as the app stored them (numbers it could not read make a whole import fail)."""
        self.import_failures = 0
        self.webhooks: list[dict[str, Any]] = []
        self.events: list[tuple[str, Any]] = []
        self.offline = False
        self._channel: str | None = None
        """The notification channel in effect: read at a start (the app asks for a restart)."""
        self.signing_key = "app-made"  # P/modules/webhooks/WebhooksSettings.kt#L18-L24
        self._tasks: list[asyncio.Task[None]] = []
        self._reports: set[asyncio.Task[None]] = set()
        """SendStateWorker runs in flight."""
        self._stream: asyncio.Task[None] | None = None
        self._released = asyncio.Event()
        self._work = asyncio.Event()

    # --- the network --------------------------------------------------------------------------

    async def call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        """Bearer device token on every call after registration (GatewayApi.kt#L129-L131)."""
        if self.offline:
            raise httpx.ConnectError("offline")
        headers = {"authorization": f"Bearer {self.token}"}
        return await self.http.request(method, f"{self.base}{path}", json=body, headers=headers)

    def go_offline(self) -> None:
        """No network: requests fail, the event stream drops; the radio still sends."""
        self.offline = True
        if self._stream is not None:
            self._stream.cancel()
            self._stream = None

    def go_online(self) -> None:
        self.offline = False
        self._open_stream()
        self._work.set()

    # --- registration and start: GatewayService.kt#L107-L167 ----------------------------------

    def sim_cards(self) -> list[dict[str, Any]]:
        """SimCard {slotIndex, simNumber, phoneNumber?, carrierName?}, masked to the last 4
        characters (GatewayService.kt#L196-L204)."""
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
        """POST /device {name, simCards (v1.65.0+)}; a null pushToken is left out, as Gson drops
        nulls (GsonBuilder.kt#L7-L9) -> 201 {id, token, login, password?}."""
        if authorization.startswith("Code "):
            if not self.profile.signs_in_with_code:
                raise AssertionError(f"{self.profile.name} has no sign-in with a code")
            authorization = "Code " + self.typed_code(authorization[5:])
        body: dict[str, Any] = {"name": self.name}
        if self.profile.sends_sims:
            body["simCards"] = self.sim_cards()
        headers = {"authorization": authorization} if authorization else {}
        response = await self.http.post(f"{self.base}/device", json=body, headers=headers)
        if response.status_code == 201:
            answer = response.json()
            self.device_id, self.token, self.login = answer["id"], answer["token"], answer["login"]
        return response

    @staticmethod
    def typed_code(code: str) -> str:
        """What the code field holds after someone types `code`: digits only, as its inputType
        number|numberPassword lets through (res/layout/dialog_first_start.xml#L123); sent as
        typed, unnormalised (ui/dialogs/FirstStartDialogFragment.kt#L118)."""
        return "".join(ch for ch in code if ch.isdigit())

    async def start(self, *, register_with: str = "") -> None:
        """PATCH /device when registered (skipped without a push token before v1.53.0); a 401 there
        registers anew, anonymously or with the private token. Then settings, webhooks, the
        event stream when it applies, the radio, the report worker and a first pull."""
        if self.token and (self.options.firebase or self.profile.has_sse_only):
            body: dict[str, Any] = {"id": self.device_id}
            if self.profile.sends_sims:
                body["simCards"] = self.sim_cards()
            response = await self.call("PATCH", "/device", body)
            if response.status_code == 401:
                assert register_with, "401 at start and nothing to register with"
                assert (await self.register(register_with)).status_code == 201
            else:
                assert response.status_code == 204, response.text
        elif not self.token:
            assert (await self.register(register_with)).status_code == 201
        self._channel = self.imported.get("notification_channel")
        if self.profile.reads_settings:
            await self.fetch_settings()
        await self.fetch_webhooks()
        self._tasks += [asyncio.create_task(self._radio()), asyncio.create_task(self._pings())]
        if self.options.periodic_pull_seconds:
            self._tasks.append(asyncio.create_task(self._periodic_pulls()))
        self._open_stream()
        await self.pull()

    async def stop(self) -> None:
        """The app is killed (its database stays): every task ends."""
        if self._stream is not None:
            self._stream.cancel()
            self._stream = None
        tasks = [*self._tasks, *self._reports]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        self._reports.clear()

    async def close(self) -> None:
        await self.stop()
        await self.http.aclose()

    @property
    def busy(self) -> bool:
        """Its radio still has work, or a report has not gone through yet."""
        return bool(self._reports) or any(
            local.state in ("Pending", "Processed") for local in self.messages.values()
        )

    def release(self) -> None:
        """Lets held messages go on (Options.send False, or paused after Processed)."""
        self.options.send = True
        self.options.pause_after_processed = False
        self._released.set()
        self._work.set()

    # --- settings and webhooks -------------------------------------------------------------------

    async def fetch_settings(self) -> None:
        """SettingsService.update (v1.37.0+): each module imports its keys; a value it cannot read
        aborts the whole import (SettingsService.kt#L23-L60)."""
        response = await self.call("GET", "/settings")
        assert response.status_code == 200, response.text
        self.settings = response.json()
        try:
            imported = {
                "limit_value": self._whole(self.settings.get("messages", {}).get("limit_value")),
                "retry_count": self._whole(self.settings.get("webhooks", {}).get("retry_count")),
                "interval_seconds": self.settings.get("ping", {}).get("interval_seconds"),
                "signing_key": self.settings.get("webhooks", {}).get("signing_key"),
                "notification_channel": self.settings.get("gateway", {}).get("notification_channel"),
            }
        except ValueError:
            self.import_failures += 1
            return
        self.imported = imported
        if imported["signing_key"]:
            self.signing_key = imported["signing_key"]

    def _whole(self, value: Any) -> int | None:
        """Gson reads every JSON number of a Map as a Double; before v1.51.2 the app calls
        toString().toInt() on it (MessagesSettings.kt#L115 at v1.37.0), which "4.0" fails."""
        if value is None:
            return None
        text = str(float(value)) if isinstance(value, int | float) else str(value)
        if self.profile.reads_numbers_loosely:
            return int(float(text))
        return int(text)

    async def fetch_webhooks(self) -> None:
        response = await self.call("GET", "/webhooks")
        assert response.status_code == 200, response.text
        self.webhooks = response.json()

    # --- wake-ups ------------------------------------------------------------------------------

    def _uses_sse(self) -> bool:
        """No Firebase token: a stream from v1.43.0; with one, only when told SSE_ONLY (v1.53.0+)."""
        if not self.profile.has_sse:
            return False
        if not self.options.firebase:
            return True
        return self.profile.has_sse_only and self._channel == "SSE_ONLY"

    def _open_stream(self) -> None:
        if self._uses_sse() and not self.offline and self._stream is None and self.token:
            self._stream = asyncio.create_task(self._listen())

    async def _listen(self) -> None:
        """GET /events with the token only (SSEManager.kt#L41-L46); `event:` names the type, a
        missing one is MessageEnqueued (SSEForegroundService.kt#L112-L126); reconnect after 5 s
        (here 0.2 s: SSEManager.kt#L99-L118)."""
        while True:
            try:
                headers = {"authorization": f"Bearer {self.token}", "user-agent": "okhttp/4.10.0"}
                async with self.http.stream(
                    "GET", f"{self.base}/events", headers=headers, timeout=None
                ) as reply:
                    if reply.status_code != 200:
                        raise RuntimeError(reply.status_code)
                    if self.profile.pulls_on_sse_connect:
                        self._work.set()
                        await self.pull()
                    kind = ""
                    async for line in reply.aiter_lines():
                        if line.startswith("event:"):
                            kind = line.partition(":")[2].strip()
                        elif line.startswith("data:"):
                            data = json.loads(line.partition(":")[2].strip() or "null")
                            self.events.append((kind, data))
                            await self._on_event(kind or "MessageEnqueued", data)
                            kind = ""
            except (httpx.HTTPError, RuntimeError):
                pass
            await asyncio.sleep(0.2)

    async def _on_event(self, kind: str, data: Any) -> None:
        """EventsRouter.kt#L21-L55; MessageCancelled from v1.67.0, before an unknown type (logged)."""
        if kind == "MessageEnqueued":
            await self.pull()
        elif kind == "SettingsUpdated" and self.profile.reads_settings:
            await self.fetch_settings()
        elif kind == "WebhooksUpdated":
            await self.fetch_webhooks()
        elif kind == "MessageCancelled" and self.profile.cancels:
            known = self.messages.get(str((data or {}).get("messageId")))
            if known is not None and known.state == "Pending":
                self._set(known, "Cancelled")

    async def _pings(self) -> None:
        """Every ping pulls (v1.16.0+); the interval comes from /settings when the app reads it."""
        while True:
            seconds = self.imported.get("interval_seconds") or self.options.poll_seconds
            await asyncio.sleep(float(seconds) if seconds else 3600.0)
            with contextlib.suppress(httpx.HTTPError):
                await self.pull()

    async def _periodic_pulls(self) -> None:
        assert self.options.periodic_pull_seconds
        while True:
            await asyncio.sleep(self.options.periodic_pull_seconds)
            with contextlib.suppress(httpx.HTTPError):
                await self.pull()

    # --- fetching: GatewayService.kt#L222-L307 ---------------------------------------------------

    async def pull(self) -> None:
        if self.offline:
            return
        path = "/message?order=lifo" if self.profile.sends_order else "/message"
        response = await self.call("GET", path)
        if response.status_code != 200:
            return
        for item in response.json():
            await self._handle(item)

    async def _handle(self, item: dict[str, Any]) -> None:
        known = self.messages.get(item["id"])
        state = item.get("state") if self.profile.cancels else None
        if state == "Cancelling":
            if known is None:
                # Not held: PATCH Cancelled at once, store nothing (GatewayService.kt#L246-L262).
                ghost = Local(item["id"], item["phoneNumbers"], None, "", state="Cancelled")
                ghost.states["Cancelled"] = app_date(time.time())
                await self._patch_now(ghost)
            elif known.state == "Pending":
                self._set(known, "Cancelled")
            return
        if state not in (None, "Pending"):
            return  # other states: nothing at all (GatewayService.kt#L269-L273)
        if known is not None:
            self._report(known)  # re-PATCH its current state (GatewayService.kt#L276-L280)
            return
        text = (item.get("textMessage") or {}).get("text", item.get("message"))
        local = Local(item["id"], item["phoneNumbers"], item.get("simNumber"), text, item.get("validUntil"))
        local.states["Pending"] = app_date(time.time())
        self.messages[local.id] = local
        self._record("offer", local.id)  # the app has it now: counted with the phones' offers
        self._work.set()

    # --- the radio: MessagesService.kt, SendMessagesWorker (no network constraint) -------------

    async def _radio(self) -> None:
        while True:
            await self._work.wait()
            self._work.clear()
            for local in list(self.messages.values()):
                if local.state == "Pending" and self.options.send:
                    await self._send(local)

    async def _send(self, local: Local) -> None:
        if local.valid_until and dt.datetime.fromisoformat(local.valid_until).timestamp() < time.time():
            local.error = "TTL expired"  # MessagesService.kt#L312-L315
            self._set(local, "Failed")
            return
        self.sent.append(local.id)
        self._set(local, "Processed")  # after the SmsManager call returns (#L502-L504)
        if self.options.pause_after_processed:
            self._released.clear()
            await self._released.wait()
        await asyncio.sleep(random.uniform(*self.options.send_ms) / 1000)
        if random.random() < self.options.fail_rate:
            local.error = "Send result: RESULT_ERROR_GENERIC_FAILURE"
            self._record("failed", local.id)
            self._set(local, "Failed")
            return
        self._record("sent", local.id)  # the radio side, counted with every other phone's
        self._set(local, "Sent")
        if self.options.deliver:
            self._set(local, "Delivered")

    def _record(self, kind: str, message_id: str) -> None:
        if self.ledger is not None:
            self.ledger.record(kind, device_id=self.device_id, message_id=message_id)

    # --- state reports: SendStateWorker ---------------------------------------------------------

    def _set(self, local: Local, state: str) -> None:
        local.state = state
        local.states.setdefault(state, app_date(time.time()))
        self._report(local)

    def _report(self, local: Local) -> None:
        """One worker per change; it reads the state when it runs, waits for the network, and
        retries any failure up to PATCH_RETRIES times (SendStateWorker.kt#L27-L81)."""
        for _ in range(2 if self.options.shuffle_patches and random.random() < 0.5 else 1):
            task = asyncio.create_task(self._report_worker(local))
            self._reports.add(task)
            task.add_done_callback(self._reports.discard)

    async def _report_worker(self, local: Local) -> None:
        if self.options.shuffle_patches:
            await asyncio.sleep(random.uniform(0, 0.4))
        for attempt in range(PATCH_RETRIES + 1):
            while self.offline:
                await asyncio.sleep(0.05)
            with contextlib.suppress(httpx.HTTPError):
                if (await self._patch_now(local)).status_code == 204:
                    return
            await asyncio.sleep(self.options.backoff_seconds * 2**attempt)

    async def _patch_now(self, local: Local) -> httpx.Response:
        """PATCH /message [{id, state, recipients[{phoneNumber, state, error?}], states}]: the
        whole state, nulls left out (GatewayApi.kt#L161-L166, SendStateWorker.kt#L33-L46)."""
        recipient: dict[str, Any] = {"state": local.state}
        if local.error:
            recipient["error"] = local.error
        item = {
            "id": local.id,
            "state": local.state,
            "recipients": [{"phoneNumber": number, **recipient} for number in local.phone_numbers],
            "states": dict(local.states),
        }
        return await self.call("PATCH", "/message", [item])

    # --- the app's own webhooks: WebHooksService.kt, PayloadSingingPlugin.kt --------------------

    async def emit(
        self, event: str, payload: dict[str, Any], *, event_id: str | None = None, stamp: float | None = None
    ) -> httpx.Response:
        """{id, webhookId, event, deviceId, payload}, signed: X-Timestamp (Unix seconds, taken
        anew for every attempt; `stamp`: a phone whose clock is off) and X-Signature = hex
        HMAC-SHA256(signing key, body + timestamp)."""
        hook = next(h for h in self.webhooks if h["event"] == event)
        body = json.dumps(
            {
                "id": event_id or f"hook-{random.getrandbits(48):x}",
                "webhookId": hook["id"],
                "event": event,
                "deviceId": self.device_id,
                "payload": payload,
            }
        )
        stamped = str(int(time.time() if stamp is None else stamp))
        signature = hmac.new(self.signing_key.encode(), (body + stamped).encode(), hashlib.sha256).hexdigest()
        headers = {"content-type": "application/json", "x-timestamp": stamped, "x-signature": signature}
        return await self.http.post(hook["url"], content=body, headers=headers)

    async def deliver(self, event: str, payload: dict[str, Any], *, attempts: int = 20) -> httpx.Response:
        """As the app's webhook queue does: the same envelope (same `id`) again after any answer
        but a 2xx, or none, with a fresh stamp each time (v1.52.0+: modules/webhooks/workers/
        WebhookQueueProcessorWorker.kt#L310-L335; the delays here are short)."""
        event_id = f"hook-{random.getrandbits(48):x}"
        for attempt in range(attempts):
            with contextlib.suppress(httpx.HTTPError):
                response = await self.emit(event, payload, event_id=event_id)
                if 200 <= response.status_code < 300:
                    return response
            await asyncio.sleep(min(1.0, 0.05 * 2**attempt))
        raise AssertionError(f"{event} not delivered in {attempts} attempts")

    def received_payload(
        self, *, message_id: str, sender: str, text: str, sim_number: int = 1
    ) -> dict[str, Any]:
        """sms:received: `sender` from v1.54.0 beside the deprecated `phoneNumber`
        (MessageEventPayload.kt); `messageId` a hash (ReceiverService.kt#L118-L125)."""
        payload: dict[str, Any] = {
            "messageId": message_id,
            "message": text,
            "phoneNumber": sender,
            "simNumber": sim_number,
            "receivedAt": app_date(time.time()),
        }
        if self.profile.names_sender:
            payload["sender"] = sender
        return payload
