"""`Dialer`: a modem's answers to `ussd` frames (docs/device-protocol.md 2.4b): each request
dialled at most once, its `ussd_result` kept like any report until acknowledged."""

from __future__ import annotations

import asyncio
from typing import Protocol

import structlog

from simrelay.agent._lease import Frame, Report
from simrelay.modem.at import AtTimeout, PortGone
from simrelay.modem.commands import Modem
from simrelay.modem.readings import Identity, UssdReply, UssdStatus
from simrelay.modem.reasons import describe_error
from simrelay.modem.results import AtError
from simrelay.modem.ussd import REQUEST_DCS, decode_ussd, encode_ussd

log = structlog.get_logger(__name__)

SEEN_KEPT = 10_000
_REFUSED = {
    UssdStatus.OTHER_CLIENT: "another client on the modem answered",
    UssdStatus.NOT_SUPPORTED: "the network refused the request (not supported)",
    UssdStatus.NETWORK_TIMEOUT: "the network timed out",
}


def wants_packed(manufacturer: str | None) -> bool:
    """Huawei E-series sticks take AT+CUSD requests as packed GSM-7 hex, others as text."""
    return "huawei" in (manufacturer or "").lower()


class DialerRadio(Protocol):
    """What the dialer needs of its radio (ModemRadio)."""

    ready: asyncio.Event
    modem: Modem | None
    identity: Identity

    def emit(self, payload: Frame, *, keep: bool = True, abort_after: bool = False) -> Report: ...
    def record(self, kind: str, message_id: str = "", detail: str = "") -> None: ...
    def lost(self, error: BaseException) -> None: ...


class Dialer:
    def __init__(self, radio: DialerRadio) -> None:
        self.radio = radio
        self._seen: dict[str, None] = {}  # request ids ever dialled (or refused), oldest first
        self._jobs: set[asyncio.Task[None]] = set()

    def dial(self, frame: Frame) -> None:
        request_id, code = frame.get("id"), frame.get("code")
        if not isinstance(request_id, str) or not isinstance(code, str) or request_id in self._seen:
            return
        self._seen[request_id] = None
        while len(self._seen) > SEEN_KEPT:
            del self._seen[next(iter(self._seen))]
        self.radio.record("ussd", request_id, code)
        timeout = frame.get("timeout_seconds")
        seconds = float(timeout) if isinstance(timeout, int | float) and timeout > 0 else 180.0
        task = asyncio.create_task(self._answer(request_id, code, frame.get("sim"), seconds))
        self._jobs.add(task)
        task.add_done_callback(self._jobs.discard)

    def cancel(self) -> None:
        for task in list(self._jobs):
            task.cancel()

    async def _answer(self, request_id: str, code: str, sim: object, seconds: float) -> None:
        if sim not in (None, 0):
            self._report(request_id, "error", f"no SIM in slot {sim}")
            return
        try:
            async with asyncio.timeout(seconds):
                await self.radio.ready.wait()
        except TimeoutError:
            self._report(request_id, "error", "the modem was not ready")
            return
        modem = self.radio.modem
        if modem is None:
            self._report(request_id, "error", "the modem was not ready")
            return
        try:
            reply = await self._request(modem, code)
        except ValueError as error:
            self._report(request_id, "error", f"cannot encode the code: {error}")
        except AtError as error:
            self._report(request_id, "error", describe_error(error))
        except (AtTimeout, PortGone) as error:
            self._report(request_id, "error", "the modem did not answer")
            self.radio.lost(error)
        else:
            await self._reply(request_id, modem, reply)

    async def _request(self, modem: Modem, code: str) -> UssdReply:
        packed = wants_packed(self.radio.identity.manufacturer)
        try:
            return await modem.ussd(encode_ussd(code, packed=packed), REQUEST_DCS)
        except AtError:
            if packed:
                raise
            # The modem refused the text before dialling anything (an error final code, not a
            # network answer): firmwares that want packed GSM-7 do this, so try that once.
            log.info("modem_ussd_packed_fallback", imei=self.radio.identity.imei)
            return await modem.ussd(encode_ussd(code, packed=True), REQUEST_DCS)

    async def _reply(self, request_id: str, modem: Modem, reply: UssdReply) -> None:
        if reply.status is UssdStatus.TIMEOUT:
            self._report(request_id, "error", f"no answer from the network within {modem.timeouts.ussd:g} s")
            return
        refused = _REFUSED.get(reply.status)
        if refused is not None:
            self._report(request_id, "error", f"{refused} (+CUSD: {reply.code})")
            return
        text = (
            decode_ussd(reply.payload, REQUEST_DCS if reply.dcs is None else reply.dcs)
            if reply.payload
            else ""
        )
        self._report(request_id, "done", text)
        if reply.status is UssdStatus.ACTION_REQUIRED:
            # Version 1 has no menus: report the text and end the session the network keeps open.
            try:
                await modem.channel.command("AT+CUSD=2", timeout=modem.timeouts.command, prefix="")
            except (AtError, AtTimeout, PortGone) as error:
                log.info("modem_ussd_cancel_failed", imei=self.radio.identity.imei, error=str(error))

    def _report(self, request_id: str, status: str, response: str) -> None:
        self.radio.emit(
            {"type": "ussd_result", "id": request_id, "status": status, "response": response[:1000]}
        )
        self.radio.record("ussd_" + status, request_id, response[:80])
