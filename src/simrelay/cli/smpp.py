"""`simrelay smpp user create | list | delete`: who SMPP clients bind as."""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from simrelay.accounts import service as accounts
from simrelay.accounts.service import AccountError
from simrelay.cli.runtime import run_in_session
from simrelay.config import Settings
from simrelay.smpp import users
from simrelay.storage.database import Database

app = typer.Typer(no_args_is_help=True)
user_app = typer.Typer(no_args_is_help=True)
app.add_typer(user_app, name="user", help="SMPP users: create, list, delete.")


async def _database(session: AsyncSession, email: str) -> tuple[Database, str]:
    account = await accounts.require_account(session, email)
    return Database.in_transaction(await session.connection()), account.id


@user_app.command()
def create(
    email: str,
    system_id: Annotated[str, typer.Option(help="What the client binds as: 1 to 15 characters.")],
    password: Annotated[str, typer.Option(help="1 to 8 characters (SMPP 3.4's limit).")],
    as_json: Annotated[bool, typer.Option("--json", help='Print {"id", "system_id"}.')] = False,
) -> None:
    """Adds an SMPP user to the account: clients bind with this system_id and password."""

    async def work(session: AsyncSession) -> str:
        db, account_id = await _database(session, email)
        try:
            return await users.create_user(db, account_id=account_id, system_id=system_id, password=password)
        except users.SmppUserError as exc:
            raise AccountError(str(exc)) from None

    user_id = run_in_session(Settings(), work)
    if as_json:
        typer.echo(json.dumps({"id": user_id, "system_id": system_id}))
    else:
        typer.echo(f"created SMPP user {system_id}")


@user_app.command("list")
def list_users(
    email: str,
    as_json: Annotated[
        bool, typer.Option("--json", help='Print [{"id", "system_id", "created_at"}].')
    ] = False,
) -> None:
    async def work(session: AsyncSession) -> list[tuple[str, str, float]]:
        db, account_id = await _database(session, email)
        return await users.list_users(db, account_id=account_id)

    found = run_in_session(Settings(), work)
    if as_json:
        items = [{"id": i, "system_id": s, "created_at": int(c)} for i, s, c in found]
        typer.echo(json.dumps(items))
        return
    for user_id, system_id, created_at in found:
        typer.echo(f"{user_id}\t{system_id}\t{time.strftime('%Y-%m-%d %H:%M', time.gmtime(created_at))}")


@user_app.command()
def delete(email: str, system_id: str) -> None:
    """Removes the user: it can no longer bind (its bound sessions end within 10 seconds)."""

    async def work(session: AsyncSession) -> None:
        db, account_id = await _database(session, email)
        try:
            await users.delete_user(db, account_id=account_id, system_id=system_id)
        except users.SmppUserError as exc:
            raise AccountError(str(exc)) from None

    run_in_session(Settings(), work)
    typer.echo(f"deleted SMPP user {system_id}")
