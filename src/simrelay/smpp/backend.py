"""What every SMPP session of a process shares: the limits, and the functions through which it
reaches the rest of simrelay (the send path, the credentials check, receipts and MO, queries,
the sender mappings). The app builds one (app.py); the unit tests give fakes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from simrelay.smpp.delivery import Outbox
from simrelay.smpp.pdu import QuerySm, QuerySmResp
from simrelay.smpp.senders import Target
from simrelay.smpp.submit import Store
from simrelay.smpp.users import BoundUser


@dataclass(frozen=True, slots=True)
class Limits:
    window: int = 10
    """submit_sm worked on at once per session."""
    bind_seconds: float = 30.0
    """A connection not bound by then is closed."""
    concat_seconds: float = 60.0
    """The parts of a long message must all arrive within this."""
    concat_limit: int = 100
    """Long messages a session may have in the making."""
    drain_seconds: float = 20.0
    """At unbind or shutdown, how long submit_sm in progress get to be answered."""
    link_seconds: float = 60.0
    """A bound session silent this long is sent an enquire_link, and closed after as long again."""
    max_sessions: int = 1000
    """Connections one process serves at once; more are closed as they come."""
    recheck_seconds: float = 10.0
    """How often a bound session checks that its user and account may still be bound."""


class Authenticate(Protocol):
    async def __call__(self, system_id: str, password: str, *, client_host: str) -> BoundUser | None:
        """The user these credentials name, None if they are wrong; TooManyGuesses while
        throttled (users.authenticate, with the database and the throttle)."""
        ...


@dataclass(frozen=True, slots=True)
class Backend:
    """What sessions share: the send path, the check of credentials, the limits."""

    store: Store
    authenticate: Authenticate
    limits: Limits
    allow: Callable[[str], Awaitable[bool]] | None = None
    """Whether an account may submit one more now: the API's rate limit of `POST /v1/sms/send`,
    whose budget submit_sm shares (None: no limit)."""
    outbox: Outbox | None = None
    """Receipts and MO for receiver binds (None: receivers get nothing)."""
    may_stay: Callable[[str], Awaitable[bool]] | None = None
    """Whether the user of this id may stay bound (users.may_stay; None: always)."""
    query: Callable[[QuerySm, str], Awaitable[QuerySmResp]] | None = None
    """query_sm's answer for an account (query.answer; None: query_sm is not served)."""
    targets: Callable[[str], Awaitable[dict[str, Target]]] | None = None
    """The user's source_addr → device mappings (senders.targets_of; None: none)."""
