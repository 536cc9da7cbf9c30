"""`simrelay key create | list | activate | deactivate | delete`."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from simrelay.accounts import repository, service
from simrelay.accounts.models import ApiKey
from simrelay.cli.runtime import run_in_session
from simrelay.config import Settings

app = typer.Typer(no_args_is_help=True)


@app.command()
def create(
    email: str,
    name: Annotated[str, typer.Option(help="A label for the key.")] = "",
    no_send: Annotated[bool, typer.Option("--no-send", help="The key may not send SMS.")] = False,
    no_read: Annotated[bool, typer.Option("--no-read", help="The key may not read SMS.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help='Print {"id", "token"}.')] = False,
) -> None:
    """Creates an API key and prints its token (shown only now)."""
    settings = Settings()
    secret = settings.resolved_secret_key()

    async def work(session: AsyncSession) -> service.IssuedKey:
        account = await service.require_account(session, email)
        return await service.create_key(
            session,
            account,
            secret_key=secret,
            name=name,
            can_send=not no_send,
            can_read=not no_read,
        )

    issued = run_in_session(settings, work)
    if as_json:
        typer.echo(json.dumps({"id": issued.key.id, "token": issued.token}))
    else:
        typer.echo(issued.token)


@app.command("list")
def list_keys(email: str) -> None:
    async def work(session: AsyncSession) -> list[ApiKey]:
        account = await service.require_account(session, email)
        return list(await repository.list_keys(session, account.id))

    for item in run_in_session(Settings(), work):
        state = "active" if item.is_active else "inactive"
        rights = ",".join(r for r, ok in (("send", item.can_send), ("read", item.can_read)) if ok)
        typer.echo(f"{item.id}\t{state}\t{rights or '-'}\t{item.name}")


@app.command()
def activate(key_id: str) -> None:
    run_in_session(Settings(), lambda s: service.set_key_active(s, key_id, active=True))
    typer.echo(f"activated {key_id}")


@app.command()
def deactivate(key_id: str) -> None:
    run_in_session(Settings(), lambda s: service.set_key_active(s, key_id, active=False))
    typer.echo(f"deactivated {key_id}")


@app.command()
def delete(key_id: str) -> None:
    run_in_session(Settings(), lambda s: service.delete_key(s, key_id))
    typer.echo(f"deleted {key_id}")
