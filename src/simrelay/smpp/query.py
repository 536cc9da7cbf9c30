"""query_sm (§4.8): the state of an SMS the account submitted, by the id submit_sm_resp gave."""

from __future__ import annotations

from simrelay.errors import ApiError
from simrelay.smpp import notices
from simrelay.smpp.codes import CommandStatus, MessageState
from simrelay.smpp.pdu import QuerySm, QuerySmResp
from simrelay.smpp.times import format_time
from simrelay.sms import service
from simrelay.sms.status import FINAL, Change, Status
from simrelay.storage.database import Database


async def answer(db: Database, pdu: QuerySm, *, account_id: str) -> QuerySmResp:
    """The query_sm_resp: the state the SMS's last change gives (ENROUTE while it is on its
    way), final_date once it is final; ESME_RQUERYFAIL for an id the account has no SMS of."""
    # Jasmin upper-cases the SMSC's ids it keeps; simrelay's are lower-case hex.
    message_id = pdu.message_id.lower()
    try:
        row, changes = await service.message_history(db, account_id=account_id, message_id=message_id)
    except ApiError:
        return QuerySmResp(sequence=pdu.sequence, status=CommandStatus.ESME_RQUERYFAIL)
    status = Status(row.status)
    final_date = ""
    state = MessageState.ENROUTE
    if status in FINAL and changes:
        last = changes[-1]
        state = notices.state_of(Change(message_id, status, at=last["at"], reason=last["reason"])) or state
        final_date = format_time(last["at"])
    return QuerySmResp(
        sequence=pdu.sequence,
        message_id=pdu.message_id,
        final_date=final_date,
        message_state=state,
        error_code=0 if state is MessageState.DELIVERED or status not in FINAL else 1,
    )
