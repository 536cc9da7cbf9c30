"""`RouteInbound`: what a route's SMSC sends it (smpp/route.py): receipts become `delivery`
reports, MO messages (their parts joined) `received` reports. Each deliver_sm is answered once
its report is stored; if it cannot be, the answer is a temporary error and the SMSC delivers it
again later (SMPP 3.4 §5.1.3, ESME_RX_T_APPN)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from simrelay.smpp import routes
from simrelay.smpp.fields import PduError
from simrelay.smpp.pdu import DataSm, DataSmResp, DeliverSm, DeliverSmResp, Pdu
from simrelay.smpp.route_frames import Frame, incoming_part, is_receipt, receipt_outcome, received_report
from simrelay.smpp.route_link import LinkClosed
from simrelay.smpp.submit import Assembler, Part, SubmitError
from simrelay.storage.database import Database

log = structlog.get_logger(__name__)

EARLY_RECEIPT_SECONDS = 10.0
"""A receipt whose message_id is not stored yet waits this long for it, then is let go."""


class RouteInbound:
    def __init__(
        self,
        db: Database,
        *,
        device_id: str,
        report: Callable[[Frame], Awaitable[bool]],
        assembler: Assembler,
    ) -> None:
        self.db = db
        self.device_id = device_id
        self._report = report
        self._assembler = assembler

    async def answer(self, pdu: Pdu) -> Pdu | None:
        """The client's handler: the response to a deliver_sm or data_sm; LinkClosed (which the
        client answers with a temporary error) when its report could not be stored."""
        if not isinstance(pdu, DeliverSm | DataSm):
            return None  # the client answers what it knows; nothing else is asked of an ESME
        response = DeliverSmResp if isinstance(pdu, DeliverSm) else DataSmResp
        try:
            if is_receipt(pdu):
                frame = await self._receipt_report(pdu)
                parts: list[Part] = []
            else:
                part = incoming_part(pdu)
                report_id, whole = None, [part]
                if part.concat is not None:
                    report_id, more = self._assembler.add(part)
                    if more is None:
                        return response()  # a part of a long MO: the rest is to come
                    whole = more
                frame, parts = received_report(whole, report_id=report_id), whole
        except PduError as error:
            log.info("smpp_route_request_unreadable", device_id=self.device_id, error=str(error))
            return response(status=error.status)
        except SubmitError as error:  # too many long MO in the making: the SMSC tries later
            return response(status=error.status)
        if frame is not None and not await self._report(frame):
            for part in parts if len(parts) > 1 else []:
                # Kept, so that the last part delivered again completes the message again.
                self._assembler.add(part)
            raise LinkClosed
        return response()

    async def _receipt_report(self, pdu: DeliverSm | DataSm) -> Frame | None:
        outcome = receipt_outcome(pdu)
        if outcome is None:
            return None
        smsc_id, delivered = outcome
        part = await routes.part_of_receipt(self.db, device_id=self.device_id, smsc_id=smsc_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + EARLY_RECEIPT_SECONDS
        while part is None and loop.time() < deadline:
            # A receipt may overtake the commit of its submit_sm_resp's message_id: wait for it.
            await asyncio.sleep(0.1)
            part = await routes.part_of_receipt(self.db, device_id=self.device_id, smsc_id=smsc_id)
        if part is None:
            log.info("smpp_route_receipt_unknown", device_id=self.device_id, smsc_id=smsc_id)
            return None
        return {
            "type": "delivery",
            "id": part.message_id,
            "part": part.part,
            "parts": part.parts,
            "delivered": delivered,
        }
