"""Queries on messages, monthly usage and idempotency keys, and the account facts a send checks
(sync Core; see storage/database.py)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Row,
    Table,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from simrelay.accounts.models import Account
from simrelay.ids import object_id_floor
from simrelay.sms.models import IdempotencyKey, Message, MessageTotal, MonthlyUsage, devices
from simrelay.sms.status import statuses_matching
from simrelay.storage.direct import Direct
from simrelay.webhooks.models import Webhook

messages = cast(Table, Message.__table__)
FTS_MIN_LENGTH = 3
"""Trigram indexes only help needles of three characters or more."""


@dataclass(frozen=True, slots=True)
class AccountFacts:
    monthly_quota: int | None
    used_this_month: int
    has_device: bool
    has_webhook: bool
    """An active webhook: without one, new SMS queue no events (and cost no query for them)."""


# The send path's statements are built once, with bind parameters: building a statement and
# its cache key on every call costs more than running it on SQLite.
_INSERT_MESSAGES = insert(messages)

_ACCOUNT_FACTS = Direct(
    select(
        Account.id,
        Account.monthly_quota,
        func.coalesce(
            select(MonthlyUsage.count)
            .where(MonthlyUsage.account_id == Account.id, MonthlyUsage.month == bindparam("month"))
            .scalar_subquery(),
            0,
        ),
        exists().where(devices.c.account_id == Account.id),
        exists().where(Webhook.account_id == Account.id, Webhook.is_active.is_(True)),
    ).where(Account.id == bindparam("account_id"))
)

_FIND_IDEMPOTENCY_KEY = select(IdempotencyKey.body_hash, IdempotencyKey.message_id).where(
    IdempotencyKey.account_id == bindparam("account_id"),
    IdempotencyKey.key == bindparam("key"),
    IdempotencyKey.created_at >= bindparam("not_before"),
)

# An UPDATE reserves its columns' names for SET parameters, hence the `b_` prefixes.
_TAKE_QUOTA = (
    update(MonthlyUsage)
    .where(
        MonthlyUsage.account_id == bindparam("b_account_id"),
        MonthlyUsage.month == bindparam("b_month"),
        MonthlyUsage.count < bindparam("quota"),
    )
    .values(count=MonthlyUsage.count + 1)
)

_TAKE_QUOTA_MANY = (
    update(MonthlyUsage)
    .where(
        MonthlyUsage.account_id == bindparam("b_account_id"),
        MonthlyUsage.month == bindparam("b_month"),
        MonthlyUsage.count <= bindparam("room"),
    )
    .values(count=MonthlyUsage.count + bindparam("n"))
)


def _upserts(dialect: Any) -> dict[str, Any]:
    """The ON CONFLICT statements, which PostgreSQL and SQLite spell with their own constructs."""
    usage = dialect.insert(MonthlyUsage).values(
        account_id=bindparam("account_id"), month=bindparam("month"), count=bindparam("count")
    )
    total = dialect.insert(MessageTotal).values(account_id=bindparam("account_id"), total=bindparam("count"))
    key = dialect.insert(IdempotencyKey).values(
        account_id=bindparam("account_id"),
        key=bindparam("key"),
        body_hash=bindparam("body_hash"),
        message_id=bindparam("message_id"),
        created_at=bindparam("now"),
    )
    return {
        "add_usage": usage.on_conflict_do_update(
            index_elements=["account_id", "month"],
            set_={"count": MonthlyUsage.count + usage.excluded.count},
        ),
        "add_total": total.on_conflict_do_update(
            index_elements=["account_id"], set_={"total": MessageTotal.total + total.excluded.total}
        ),
        "ensure_usage": usage.on_conflict_do_nothing(index_elements=["account_id", "month"]),
        "claim_key": key.on_conflict_do_update(
            index_elements=["account_id", "key"],
            set_={
                "body_hash": key.excluded.body_hash,
                "message_id": key.excluded.message_id,
                "created_at": key.excluded.created_at,
            },
            where=IdempotencyKey.created_at < bindparam("not_before"),
        ).returning(IdempotencyKey.key),
    }


_UPSERTS = {"postgresql": _upserts(postgresql), "sqlite": _upserts(sqlite)}
_ADD_USAGE = {name: Direct(upserts["add_usage"]) for name, upserts in _UPSERTS.items()}
_ADD_TOTAL = {name: Direct(upserts["add_total"]) for name, upserts in _UPSERTS.items()}
_INSERT = Direct(_INSERT_MESSAGES)


def _upsert(conn: Connection, name: str) -> Any:
    return _UPSERTS[conn.dialect.name][name]


def insert_messages(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Stores new messages; each row has every column."""
    _INSERT.execute_many(conn, rows)


def fetch_account_facts(
    conn: Connection, account_ids: Iterable[str], *, month: int
) -> dict[str, AccountFacts]:
    """Per account, one indexed lookup (a batch rarely spans more than a few accounts)."""
    facts: dict[str, AccountFacts] = {}
    for account_id in account_ids:
        for row in _ACCOUNT_FACTS.rows(conn, {"account_id": account_id, "month": month}):
            facts[row[0]] = AccountFacts(row[1], row[2], bool(row[3]), bool(row[4]))
    return facts


def device_exists(conn: Connection, *, account_id: str, device_id: str) -> bool:
    """Whether the device an SMS is pinned to is one of the account's."""
    query = select(devices.c.id).where(devices.c.id == device_id, devices.c.account_id == account_id)
    return (conn.execute(query)).first() is not None


def add_usage(conn: Connection, account_id: str, *, month: int, count: int) -> None:
    params = {"account_id": account_id, "month": month, "count": count}
    _ADD_USAGE[conn.dialect.name].execute(conn, params)


def add_to_total(conn: Connection, account_id: str, *, count: int) -> None:
    """Moves the account's count of live SMS by `count` (negative on delete)."""
    _ADD_TOTAL[conn.dialect.name].execute(conn, {"account_id": account_id, "count": count})


def reserve_quota(conn: Connection, account_id: str, *, month: int, quota: int, count: int = 1) -> bool:
    """Counts `count` SMS against the quota if there is room for them all; atomic across server
    nodes."""
    conn.execute(_upsert(conn, "ensure_usage"), {"account_id": account_id, "month": month, "count": 0})
    if count == 1:
        result = conn.execute(_TAKE_QUOTA, {"b_account_id": account_id, "b_month": month, "quota": quota})
    else:
        params = {"b_account_id": account_id, "b_month": month, "room": quota - count, "n": count}
        result = conn.execute(_TAKE_QUOTA_MANY, params)
    return bool(result.rowcount)


def find_idempotency_key(
    conn: Connection, account_id: str, key: str, *, not_before: float
) -> tuple[str, str] | None:
    """(body_hash, message_id) of a live key, or None."""
    row = conn.execute(
        _FIND_IDEMPOTENCY_KEY, {"account_id": account_id, "key": key, "not_before": not_before}
    ).first()
    return (row[0], row[1]) if row else None


def claim_idempotency_key(
    conn: Connection,
    account_id: str,
    key: str,
    *,
    body_hash: str,
    message_id: str,
    now: float,
    not_before: float,
) -> bool:
    """Stores the key, replacing an expired one; False if a live one exists (another node won)."""
    values = {
        "account_id": account_id,
        "key": key,
        "body_hash": body_hash,
        "message_id": message_id,
        "now": now,
        "not_before": not_before,
    }
    return conn.execute(_upsert(conn, "claim_key"), values).first() is not None


def purge_idempotency_keys(conn: Connection, *, before: float) -> None:
    conn.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < before))


def get_message(conn: Connection, account_id: str, message_id: str) -> Row[Any] | None:
    query = select(messages).where(
        messages.c.id == message_id,
        messages.c.account_id == account_id,
        messages.c.deleted_at.is_(None),
    )
    return (conn.execute(query)).first()


def mark_deleted(conn: Connection, account_id: str, message_id: str, *, now: float) -> bool:
    result = conn.execute(
        update(messages)
        .where(
            messages.c.id == message_id,
            messages.c.account_id == account_id,
            messages.c.deleted_at.is_(None),
        )
        .values(deleted_at=now)
    )
    if not result.rowcount:
        return False
    add_to_total(conn, account_id, count=-1)
    return True


_LIVE_TOTAL = select(MessageTotal.total).where(MessageTotal.account_id == bindparam("account_id"))


MANY_MATCHES = 2000
"""Past this many matches, walking the account's SMS newest first finds a page sooner than
fetching and sorting every match."""


class Plan(Enum):
    """How a search finds a page of matches, chosen by how many it counted."""

    FEW = "few"
    """Up to MANY_MATCHES: every match through the trigram index, then the page sorted out of them."""
    SOME = "some"
    """Up to SEARCH_COUNT_CAP: walk the account's SMS newest first, each checked against the
    index's matches (SQLite; PostgreSQL walks as for MANY)."""
    MANY = "many"
    """Past the cap (one SMS in a hundred or more): walk newest first, testing each text; no index."""


def search_condition(conn: Connection, account_id: str, needle: str, plan: Plan) -> ColumnElement[bool]:
    """The account's live SMS whose text, number or status text contain `needle`.

    Text and number are matched against `search_text`, stored case-folded, so the result does
    not depend on the database's locale; the status side by which status texts contain it.
    """
    statuses = [int(status) for status in statuses_matching(needle)]
    live = messages.c.deleted_at.is_(None)
    indexed = len(needle) >= FTS_MIN_LENGTH and not statuses and plan is not Plan.MANY
    if conn.dialect.name == "sqlite" and indexed:
        in_index = literal_column("messages.rowid").in_(
            text(
                f"SELECT rowid FROM messages_fts WHERE messages_fts MATCH :phrase UNION ALL {_QUEUED}"
            ).bindparams(phrase=_phrase(needle), needle=needle)
        )
        # For a few matches the unary + keeps SQLite from walking the account's index (every SMS
        # of a busy account) and checking each against the match list, instead of the other way
        # round; for more, walking newest first reaches a page of matches soonest.
        owner = literal_column("+messages.account_id") if plan is Plan.FEW else messages.c.account_id
        return and_(in_index, owner == account_id, live)
    if conn.dialect.name == "sqlite":
        text_match: ColumnElement[bool] = func.instr(messages.c.search_text, needle) > 0
    elif len(needle) < FTS_MIN_LENGTH or plan is not Plan.FEW:
        # strpos, which no index serves, makes PostgreSQL walk the account's SMS newest first:
        # a trigram index cannot narrow a one- or two-character needle, and for a common word the
        # walk meets a page of matches long before the index has listed them all.
        text_match = func.strpos(messages.c.search_text, needle) > 0
    else:
        escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        text_match = messages.c.search_text.like(f"%{escaped}%", escape="\\")
    if statuses:
        text_match = or_(text_match, messages.c.status.in_(statuses))
    return and_(messages.c.account_id == account_id, live, text_match)


_QUEUED = (
    "SELECT q.message_rowid FROM search_queue q CROSS JOIN messages m ON m.rowid = q.message_rowid "
    "WHERE instr(m.search_text, :needle) > 0"
)
"""SQLite: rows still queued for the trigram index (see index_queued_messages), so a message is
found the moment its send returned. CROSS JOIN keeps SQLite walking the short queue: without
statistics it once walked every message."""

_COUNT_INDEXED = text(
    "SELECT count(*) FROM (SELECT 1 FROM messages_fts CROSS JOIN messages m ON m.rowid = messages_fts.rowid "
    "WHERE messages_fts MATCH :phrase AND m.account_id = :account_id AND m.deleted_at IS NULL "
    f"UNION ALL SELECT 1 FROM ({_QUEUED}) queued CROSS JOIN messages m ON m.rowid = queued.message_rowid "
    "WHERE m.account_id = :account_id AND m.deleted_at IS NULL LIMIT :cap)"
)
"""SQLite: the index's matches one by one, each looked up by rowid, until the cap: stops early
for a common word (an IN list would first collect every match)."""


def _phrase(needle: str) -> str:
    return '"' + needle.replace('"', '""') + '"'


def _count_matches(conn: Connection, account_id: str, needle: str, *, cap: int) -> int:
    """Matches, counted no further than `cap`."""
    if conn.dialect.name == "sqlite" and len(needle) >= FTS_MIN_LENGTH and not statuses_matching(needle):
        params = {"phrase": _phrase(needle), "needle": needle, "account_id": account_id, "cap": cap}
        return int(conn.execute(_COUNT_INDEXED, params).scalar_one())
    counted = select(messages.c.id).where(search_condition(conn, account_id, needle, Plan.FEW)).limit(cap)
    return int(conn.execute(select(func.count()).select_from(counted.subquery())).scalar_one())


INDEX_BATCH = 5000


def index_queued_messages(conn: Connection) -> int:
    """SQLite: moves queued messages into the FTS5 index; returns how many.

    Taking them off the queue first holds SQLite's write lock, so two workers never index
    the same rows.
    """
    taken = conn.exec_driver_sql(
        "DELETE FROM search_queue WHERE message_rowid IN "
        "(SELECT message_rowid FROM search_queue ORDER BY message_rowid LIMIT ?) RETURNING message_rowid",
        (INDEX_BATCH,),
    ).all()
    if not taken:
        return 0
    rowids = [row[0] for row in taken]
    conn.exec_driver_sql(
        "INSERT INTO messages_fts(rowid, search_text) SELECT rowid, search_text FROM messages "
        f"WHERE rowid IN ({', '.join('?' * len(rowids))})",
        tuple(rowids),
    )
    return len(rowids)


SEARCH_COUNT_CAP = 10_000
"""A search counts its matches up to this many; past it, total_records says "at least this"
(the contract's Total-Records-Relation: gte). Counting every match of a common word was most
of such a search's time."""


def list_messages(
    conn: Connection,
    account_id: str,
    *,
    limit: int,
    page: int,
    needle: str,
    count_cap: int = SEARCH_COUNT_CAP,
) -> tuple[int, bool, Sequence[Row[Any]]]:
    """(total, exact, the page's rows), newest first; `needle` is case-folded, "" for all.

    Without a needle the total is the account's exact count. A search counts no further than
    one past `count_cap`: above it the total is `count_cap` and `exact` is False."""
    offset = (page - 1) * limit
    if not needle:
        total = conn.execute(_LIVE_TOTAL, {"account_id": account_id}).scalar() or 0
        condition = and_(messages.c.account_id == account_id, messages.c.deleted_at.is_(None))
        return total, True, _page(conn, condition, limit=limit, offset=offset) if total > offset else []
    if conn.dialect.name == "postgresql":
        # One statement text serves needles matching 10 rows and 700,000: plan each anew.
        conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")
    total = _count_matches(conn, account_id, needle, cap=count_cap + 1)
    exact = total <= count_cap
    plan = Plan.FEW if total <= MANY_MATCHES else Plan.SOME if exact else Plan.MANY
    rows: Sequence[Row[Any]] = []
    if not exact or total > offset:
        condition = search_condition(conn, account_id, needle, plan)
        if plan is Plan.FEW and conn.dialect.name == "postgresql":
            # Materialized, the matches come through the trigram index and are sorted after; else
            # the planner, misjudging how many there are, may walk every SMS newest first.
            matches = select(messages.c.id).where(condition).cte("matches").prefix_with("MATERIALIZED")
            ids = select(matches.c.id).order_by(matches.c.id.desc()).limit(limit).offset(offset)
            rows = _page(conn, messages.c.id.in_(ids), limit=limit, offset=0)
        else:
            rows = _page(conn, condition, limit=limit, offset=offset)
    return min(total, count_cap), exact, rows


def _page(conn: Connection, condition: ColumnElement[bool], *, limit: int, offset: int) -> Sequence[Row[Any]]:
    query = select(messages).where(condition).order_by(messages.c.id.desc()).limit(limit).offset(offset)
    return conn.execute(query).all()


def created_per_day(conn: Connection, account_id: str, *, since: int, day: int) -> dict[tuple[int, int], int]:
    """(day number, status) -> the account's SMS created that day, deleted ones too (they
    count against the quota); `day` is the day's length in seconds."""
    number = messages.c.time_create // day
    query = (
        select(number, messages.c.status, func.count())
        .where(
            messages.c.account_id == account_id,
            # The id range reads only the period's rows off (account_id, id); the minute of
            # slack covers an id made just before its row's time_create.
            messages.c.id >= object_id_floor(since - 60),
            messages.c.time_create >= since,
        )
        .group_by(number, messages.c.status)
    )
    return {(int(row[0]), int(row[1])): int(row[2]) for row in conn.execute(query)}


def count_campaigns_by_status(conn: Connection, campaign_ids: Sequence[str]) -> dict[str, dict[int, int]]:
    """Per campaign, its live (not deleted) SMS per status: one GROUP BY on ix_messages_campaign."""
    query = (
        select(messages.c.campaign_id, messages.c.status, func.count())
        .where(messages.c.campaign_id.in_(campaign_ids), messages.c.deleted_at.is_(None))
        .group_by(messages.c.campaign_id, messages.c.status)
    )
    counts: dict[str, dict[int, int]] = {campaign_id: {} for campaign_id in campaign_ids}
    for campaign_id, status, count in conn.execute(query):
        counts[campaign_id][int(status)] = int(count)
    return counts


def count_by_status(conn: Connection) -> dict[int, int]:
    """SMS per status over all accounts (deleted ones included), for the metrics endpoint."""
    query = select(messages.c.status, func.count()).group_by(messages.c.status)
    return {row[0]: row[1] for row in (conn.execute(query)).all()}
