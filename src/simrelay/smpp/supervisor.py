"""`RouteSupervisor`: runs the SMPP routes of the cluster, each in exactly one process. Every
process that serves the app starts one; each claims routes with a short lease in the database
(smpp/routes.py, claim_routes) and renews it while it runs them, so that when a process dies
another takes its routes over once the lease lapsed, and a route is never bound twice by us.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets

import structlog

from simrelay.devices.dispatch import Dispatcher
from simrelay.smpp import routes
from simrelay.smpp.route import RouteOptions, RouteRunner

log = structlog.get_logger(__name__)


class RouteSupervisor:
    def __init__(
        self,
        dispatcher: Dispatcher,
        *,
        claim_seconds: float = 30.0,
        every: float = 5.0,
        options: RouteOptions | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        self.holder = secrets.token_hex(8)
        self.claim_seconds = claim_seconds
        self.every = every
        self.options = options or RouteOptions()
        self.runners: dict[str, tuple[RouteRunner, asyncio.Task[None]]] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="smpp routes")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        running = list(self.runners)
        await self._stop_runners(running)
        with contextlib.suppress(Exception):
            await routes.release_routes(self.dispatcher.db, holder=self.holder, device_ids=running)

    async def _run(self) -> None:
        while True:
            try:
                await self.check()
            except Exception:
                log.exception("smpp_routes_check_failed")
            await asyncio.sleep(self.every)

    async def check(self) -> None:
        """Claims what it can, starts the routes it won, stops those it lost or that were deleted."""
        db = self.dispatcher.db
        mine = set(await routes.claim_routes(db, holder=self.holder, seconds=self.claim_seconds))
        await self._stop_runners([device_id for device_id in self.runners if device_id not in mine])
        for device_id in mine - set(self.runners):
            route = await routes.get_route(db, device_id)
            if route is None:
                continue
            runner = RouteRunner(route, dispatcher=self.dispatcher, options=self.options)
            task = asyncio.create_task(runner.run(), name=f"smpp route {device_id}")
            self.runners[device_id] = (runner, task)
            log.info("smpp_route_started", device_id=device_id, holder=self.holder)
        for device_id, (_, task) in list(self.runners.items()):
            if task.done():
                # The route's device was deleted (or the runner failed): the next check restarts a
                # route that still exists.
                del self.runners[device_id]

    async def _stop_runners(self, device_ids: list[str]) -> None:
        tasks = []
        for device_id in device_ids:
            _, task = self.runners.pop(device_id)
            task.cancel()
            tasks.append(task)
        await asyncio.gather(*tasks, return_exceptions=True)
