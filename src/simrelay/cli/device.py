"""`simrelay device add`."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from simrelay.accounts import service as accounts
from simrelay.cli.runtime import run_in_session
from simrelay.config import Settings
from simrelay.devices import service
from simrelay.storage.database import Database

app = typer.Typer(no_args_is_help=True)


@app.command()
def add(
    email: str,
    name: Annotated[str, typer.Option(help="Device name.")] = "",
    active: Annotated[bool, typer.Option("--active", help="Activate it now.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help='Print {"device_id"}.')] = False,
) -> None:
    """Adds a device record to the account and prints its id."""

    async def work(session: AsyncSession) -> str:
        account = await accounts.require_account(session, email)
        db = Database.in_transaction(await session.connection())
        return await service.add_device(db, account_id=account.id, name=name, active=active)

    device_id = run_in_session(Settings(), work)
    typer.echo(json.dumps({"device_id": device_id}) if as_json else device_id)
