"""`simrelay smpp user create | list | delete`: who SMPP clients bind as; `simrelay smpp sender
add | list | delete`: which device a source_addr sends through; `simrelay smpp route create |
list | delete`: the carriers' SMSCs the account sends through."""

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
from simrelay.smpp import routes, senders, users
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


route_app = typer.Typer(no_args_is_help=True)
app.add_typer(route_app, name="route", help="SMPP routes (carriers' SMSCs as devices): create, list, delete.")


def _route_json(route: routes.Route) -> dict[str, object]:
    # The password is the carrier's credential: it goes to the SMSC and nowhere else.
    settings = route.settings
    return {
        "id": route.device_id,
        "name": route.name,
        "host": settings.host,
        "port": settings.port,
        "system_id": settings.system_id,
        "source_addr": settings.source_addr,
        "tps": settings.tps,
        "window": settings.window,
    }


@route_app.command("create")
def create_route(
    email: str,
    host: Annotated[str, typer.Option(help="The SMSC's address.")],
    port: Annotated[int, typer.Option(help="The SMSC's SMPP port.")],
    system_id: Annotated[str, typer.Option(help="What the carrier gave you to bind as.")],
    password: Annotated[str, typer.Option(help="The carrier's password for that system_id.")],
    source_addr: Annotated[str, typer.Option(help="Sender of every SMS: digits or a name.")] = "",
    tps: Annotated[float, typer.Option(help="submit_sm per second at most; 0: no limit.")] = 0.0,
    window: Annotated[int, typer.Option(help="submit_sm awaiting their answer at most.")] = 10,
    name: Annotated[str, typer.Option(help="The route's device name; default: SMPP HOST.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print the route (without its password).")] = False,
) -> None:
    """Adds a route: a device of the account that sends through the carrier's SMSC."""
    settings = routes.RouteSettings(
        host=host,
        port=port,
        system_id=system_id,
        password=password,
        source_addr=source_addr,
        tps=tps,
        window=window,
    )

    async def work(session: AsyncSession) -> routes.Route:
        db, account_id = await _database(session, email)
        try:
            device_id = await routes.create_route(db, account_id=account_id, name=name, settings=settings)
        except routes.RouteError as exc:
            raise AccountError(str(exc)) from None
        route = await routes.get_route(db, device_id)
        assert route is not None
        return route

    route = run_in_session(Settings(), work)
    if as_json:
        typer.echo(json.dumps(_route_json(route)))
    else:
        typer.echo(f"created SMPP route {route.device_id} to {host}:{port}")


@route_app.command("list")
def list_routes(
    email: str,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a list of routes (without passwords).")
    ] = False,
) -> None:
    async def work(session: AsyncSession) -> list[routes.Route]:
        db, account_id = await _database(session, email)
        return await routes.list_routes(db, account_id=account_id)

    found = run_in_session(Settings(), work)
    if as_json:
        typer.echo(json.dumps([_route_json(route) for route in found]))
        return
    for route in found:
        settings = route.settings
        typer.echo(f"{route.device_id}\t{settings.host}:{settings.port}\t{settings.system_id}\t{route.name}")


@route_app.command("delete")
def delete_route(email: str, route_id: str) -> None:
    """Removes the route and its device; the process running it unbinds within seconds."""

    async def work(session: AsyncSession) -> None:
        db, account_id = await _database(session, email)
        try:
            await routes.delete_route(db, account_id=account_id, device_id=route_id)
        except routes.RouteError as exc:
            raise AccountError(str(exc)) from None

    run_in_session(Settings(), work)
    typer.echo(f"deleted SMPP route {route_id}")
