"""What is kept of an SMS sent with `no_store`: once it is final (status 3, 4 or 5) its text
and the text's search copy are blanked; number, statuses, history and times stay (sync Core).

Every path that makes an SMS final (device reports, lease loss, expiry, opt-outs, drops of a
deleted SMS) records the change through `history.record_changes`, which calls
`forget_final_texts`: the blanking joins that same transaction, so no final SMS keeps its
text past the commit. Status 2 is not final: a delivery report may still follow.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from sqlalchemy import Table, bindparam, literal, update
from sqlalchemy.engine import Connection

from simrelay.sms.models import Message
from simrelay.sms.search import SEPARATOR
from simrelay.sms.status import FINAL
from simrelay.storage.database import before_commit
from simrelay.storage.direct import Direct

messages = cast(Table, Message.__table__)
c = messages.c

_FINAL = sorted(int(status) for status in FINAL)
assert _FINAL == list(range(_FINAL[0], _FINAL[-1] + 1)), "the final statuses are one range"


def forget_final_texts(conn: Connection, message_ids: Iterable[str]) -> None:
    """Blanks, before this transaction commits, the text of those of `message_ids` that were
    sent with `no_store` and are final by then. One statement per transaction, however many
    reports it applies; SMS without `no_store` are left as they are."""
    ids = list(message_ids)
    if ids:
        before_commit(conn, _forget, ids)


_FORGET = Direct(
    update(messages)
    .where(
        c.id == bindparam("message_id"),
        c.no_store.is_(True),
        c.status.between(min(_FINAL), max(_FINAL)),
        c.message != "",
    )
    # search_text as sms/search.py builds it for an empty text: the number stays findable.
    # On SQLite its trigger takes the old text out of the full-text index.
    .values(message="", search_text=literal(SEPARATOR) + c.phone_number)
)


def _forget(conn: Connection, message_ids: list[str]) -> None:
    # One precompiled statement per id (an expanding IN would be compiled anew each time): a
    # point update that matches nothing unless the SMS was sent with no_store.
    _FORGET.execute_many(conn, ({"message_id": message_id} for message_id in sorted(set(message_ids))))
