"""`simrelay smpp user create | list | delete`: who SMPP clients bind as;
`simrelay smpp sender add | list | delete`: which device a source_addr sends through."""

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
from simrelay.smpp import senders, users
from simrelay.storage.database import Database

app = typer.Typer(no_args_is_help=True)
user_app = typer.Typer(no_args_is_help=True)
app.add_typer(user_app, name="user", help="SMPP users: create, list, delete.")
sender_app = typer.Typer(no_args_is_help=True)
app.add_typer(sender_app, name="sender", help="source_addr → device (and SIM) of an SMPP user.")


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


@sender_app.command("add")
def add_sender(
    email: str,
    system_id: str,
    source_addr: str,
    device: Annotated[str, typer.Option(help="The device (its id) these SMS go out through.")],
    sim: Annotated[
        int | None, typer.Option(help="The SIM, as the API's to_sim: a slot from 0, -1 any, -2 the default.")
    ] = None,
) -> None:
    """Sends what the user submits with this source_addr through this device (and SIM)."""

    async def work(session: AsyncSession) -> None:
        db, account_id = await _database(session, email)
        try:
            await senders.add_sender(
                db,
                account_id=account_id,
                system_id=system_id,
                source_addr=source_addr,
                device_id=device,
                to_sim=sim,
            )
        except senders.SenderError as exc:
            raise AccountError(str(exc)) from None

    run_in_session(Settings(), work)
    typer.echo(
        f"{system_id}: {source_addr} goes through {device}" + (f" SIM {sim}" if sim is not None else "")
    )


@sender_app.command("list")
def list_senders(
    email: str,
    system_id: str,
    as_json: Annotated[
        bool, typer.Option("--json", help='Print [{"source_addr", "device_id", "sim"}].')
    ] = False,
) -> None:
    async def work(session: AsyncSession) -> list[tuple[str, senders.Target]]:
        db, account_id = await _database(session, email)
        try:
            return await senders.list_senders(db, account_id=account_id, system_id=system_id)
        except senders.SenderError as exc:
            raise AccountError(str(exc)) from None

    found = run_in_session(Settings(), work)
    if as_json:
        items = [{"source_addr": a, "device_id": t.device_id, "sim": t.to_sim} for a, t in found]
        typer.echo(json.dumps(items))
        return
    for source_addr, target in found:
        typer.echo(f"{source_addr}\t{target.device_id}\t{'' if target.to_sim is None else target.to_sim}")


@sender_app.command("delete")
def delete_sender(email: str, system_id: str, source_addr: str) -> None:
    """Lets this source_addr go through any of the account's devices again."""

    async def work(session: AsyncSession) -> None:
        db, account_id = await _database(session, email)
        try:
            await senders.delete_sender(
                db, account_id=account_id, system_id=system_id, source_addr=source_addr
            )
        except senders.SenderError as exc:
            raise AccountError(str(exc)) from None

    run_in_session(Settings(), work)
    typer.echo(f"{system_id}: {source_addr} goes through any device")
