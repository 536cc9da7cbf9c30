"""`SimulatedPhone`: one virtual device, a `DeviceLink` (the connection) over a `Handset` (its
storage and simulated radio)."""

from __future__ import annotations

import time
import uuid

import httpx

from simrelay.agent._handset import APP_VERSION, DEFAULT_MODEL, Handset
from simrelay.agent._ledger import Ledger
from simrelay.agent._link import PROTOCOL, DeviceLink
from simrelay.agent._options import SimulatorOptions
from simrelay.agent._pairing import DEFAULT_WS_PATH, pair_device

__all__ = ["APP_VERSION", "DEFAULT_MODEL", "PROTOCOL", "SimulatedPhone"]


class SimulatedPhone:
    """One virtual phone. `start()` runs its connection loop until `stop()`, `kill()` or a terminal
    close (4001, 4002, 4003, or HTTP 401/403 at the handshake: `stop_reason` says which).
    Its storage (held offers, unacknowledged reports) is kept across all of these."""

    def __init__(
        self,
        base_url: str,
        *,
        device_id: str,
        token: str,
        name: str = "",
        model: str = DEFAULT_MODEL,
        options: SimulatorOptions | None = None,
        ledger: Ledger | None = None,
        ws_path: str = DEFAULT_WS_PATH,
        heartbeat_seconds: float | None = None,
    ) -> None:
        self.base_url = base_url
        self.device_id = device_id
        self.name = name
        self.model = model
        self.options = options or SimulatorOptions()
        self.ledger = ledger if ledger is not None else Ledger()
        self._handset = Handset(device_id=device_id, options=self.options, ledger=self.ledger, model=model)
        self._link = DeviceLink(
            base_url,
            token=token,
            work=self._handset,
            ws_path=ws_path,
            heartbeat_seconds=heartbeat_seconds,
            heartbeat_override=self.options.heartbeat_seconds,
            reconnect=(self.options.reconnect_min, self.options.reconnect_max),
            user_agent=APP_VERSION,
            rng=self._handset.random,
            name=f"phone {device_id}",
        )

    def __repr__(self) -> str:
        return f"<SimulatedPhone {self.device_id} connected={self.connected} held={len(self.held)}>"

    @classmethod
    async def pair(
        cls,
        base_url: str,
        code: str,
        *,
        name: str = "",
        model: str = DEFAULT_MODEL,
        options: SimulatorOptions | None = None,
        ledger: Ledger | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> SimulatedPhone:
        """Pairs a new device with `code` (POST /device/v1/pair); raises PairingError if refused."""
        about = {"name": name, "model": model, "app_version": APP_VERSION}
        if client is None:
            async with httpx.AsyncClient(timeout=10.0) as own:
                pairing = await pair_device(own, base_url, code, **about)
        else:
            pairing = await pair_device(client, base_url, code, **about)
        return cls(
            base_url,
            device_id=pairing.device_id,
            token=pairing.token,
            name=name,
            model=model,
            options=options,
            ledger=ledger,
            ws_path=pairing.ws_path,
            heartbeat_seconds=pairing.heartbeat_seconds,
        )

    @property
    def token(self) -> str:
        return self._link.token

    @property
    def connected(self) -> bool:
        """True from `welcome` until the connection ends."""
        return self._link.connected

    @property
    def connections(self) -> int:
        """Connections that got as far as `welcome`."""
        return self._link.connections

    @property
    def stop_reason(self) -> str | None:
        """unauthorized, unsupported_protocol or replaced, after a terminal close."""
        return self._link.stop_reason

    @property
    def held(self) -> list[str]:
        """Ids it holds: offered and not finished (final report not yet acknowledged)."""
        return list(self._handset.held)

    @property
    def unconfirmed(self) -> list[str]:
        """Ids it sent (or failed) whose report the server has not acknowledged yet. If the phone
        vanishes now, the server gives these to another device after its hard timeout: a message
        sent twice that no protocol can prevent."""
        return [message_id for message_id, held in self._handset.held.items() if held.final is not None]

    @property
    def pending_reports(self) -> int:
        """Reports not yet acknowledged."""
        return len(self._handset.outbox)

    @property
    def running(self) -> bool:
        return self._link.running

    # Lifecycle.

    def start(self) -> None:
        """Starts (or resumes after `stop()`/`kill()`) the connection loop and the pending work."""
        self._link.start()

    async def stop(self) -> None:
        """Closes the connection cleanly (code 1000) and stops all work."""
        await self._link.stop()

    def kill(self) -> None:
        """The phone dies: the connection is cut without a close frame and nothing more happens
        (no sending, no reconnecting) until `start()`."""
        self._link.kill()

    def disconnect(self) -> None:
        """Cuts the connection without a close frame; the phone reconnects after the backoff."""
        self._link.disconnect()

    async def receive_sms(
        self, phone_number: str, message: str, *, id: str | None = None, sim: int = 0
    ) -> str:
        """Reports an incoming SMS (`received`, sent once connected); returns its inbox id."""
        inbox_id = id or f"inbox-{uuid.uuid4().hex[:16]}"
        received_at = int(time.time())
        self._handset.emit(
            {
                "type": "received",
                "id": inbox_id,
                "phone_number": phone_number,
                "message": message,
                "received_at": received_at,
                "sim": sim,
            }
        )
        self._handset.record("received", inbox_id)
        return inbox_id
