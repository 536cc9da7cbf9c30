"""Data builders for tests: plain async functions over an engine."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from simrelay.accounts import service as accounts
from simrelay.devices import service as devices
from simrelay.ids import new_object_id
from simrelay.storage.database import Database
from simrelay.storage.db import create_sessionmaker
from simrelay.webhooks.models import Webhook

SECRET = "test-secret-key-that-is-long-enough-for-hs256"


@dataclass
class Caller:
    """An account with one API key: what a test needs to call the API."""

    account_id: str
    email: str
    key_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def make_caller(
    engine: AsyncEngine,
    *,
    email: str | None = None,
    quota: int | None = None,
    can_send: bool = True,
    can_read: bool = True,
    with_device: bool = True,
) -> Caller:
    email = email or f"user-{new_object_id()}@example.com"
    async with create_sessionmaker(engine)() as session, session.begin():
        account = await accounts.create_account(session, email, monthly_quota=quota)
        issued = await accounts.create_key(
            session, account, secret_key=SECRET, can_send=can_send, can_read=can_read
        )
        if with_device:
            db = Database.in_transaction(await session.connection())
            await devices.add_device(db, account_id=account.id, name="phone", active=True)
    return Caller(account.id, email, issued.key.id, issued.token)


async def make_key(engine: AsyncEngine, caller: Caller, **options: bool) -> Caller:
    """Another key of the same account."""
    async with create_sessionmaker(engine)() as session, session.begin():
        account = await accounts.require_account(session, caller.email)
        issued = await accounts.create_key(session, account, secret_key=SECRET, **options)
    return Caller(caller.account_id, caller.email, issued.key.id, issued.token)


async def make_device(
    engine: AsyncEngine, caller: Caller, *, name: str = "phone", active: bool = True
) -> str:
    return await devices.add_device(
        Database.on_engine(engine), account_id=caller.account_id, name=name, active=active
    )


async def make_webhook(
    engine: AsyncEngine, caller: Caller, *, url: str = "http://127.0.0.1:9/hook", events: Sequence[str] = ()
) -> str:
    webhook_id = new_object_id()
    async with engine.begin() as conn:
        await conn.execute(
            Webhook.__table__.insert().values(
                id=webhook_id,
                account_id=caller.account_id,
                url=url,
                events=list(events),
                is_active=True,
                secret_salt="",
                created_at=0.0,
            )
        )
    return webhook_id
