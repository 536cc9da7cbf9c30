"""`simrelay webhook add | list | del`."""

from __future__ import annotations

import itertools
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from simrelay.accounts import service as accounts
from simrelay.cli.runtime import run_in_session
from simrelay.config import Settings
from simrelay.errors import ApiError, ErrorCode
from simrelay.storage.database import Database
from simrelay.webhooks import guard, repository, service
from simrelay.webhooks.outbox import SUBSCRIBABLE
from simrelay.webhooks.schemas import webhook_object

app = typer.Typer(no_args_is_help=True)

T = TypeVar("T")
PAGE = 100
ALLOW_PRIVATE_HINT = "SIMRELAY_WEBHOOK_ALLOW_PRIVATE=1 allows loopback and private-network receivers"


class Refused(Exception):
    """A command that cannot be done; the message is printed as `error: ...`, exit 1."""


def run(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """`run_in_session`, with the webhook failures turned into a message and exit 1."""
    try:
        return run_in_session(settings, work)
    except Refused as exc:
        message = str(exc)
    except ApiError as exc:
        message = exc.error.value[3]
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def parse_events(values: list[str] | None) -> list[str] | None:
    """`--events a,b --events c` -> the known names, each once, in the documented order."""
    if values is None:
        return None
    names = [name.strip() for value in values for name in value.split(",") if name.strip()]
    valid = ", ".join(SUBSCRIBABLE)
    unknown = [name for name in names if name not in SUBSCRIBABLE]
    if unknown:
        raise typer.BadParameter(f"unknown event {', '.join(map(repr, unknown))}; valid events: {valid}")
    if not names:
        raise typer.BadParameter(f"name at least one of {valid}")
    return [name for name in SUBSCRIBABLE if name in names]


async def check_url(url: str, *, allow_private: bool) -> None:
    """Refuses the URL with the guard's reason (the service would only say "not allowed")."""
    try:
        guard.parse_url(url)
    except guard.UrlRefused as exc:
        raise Refused(f"webhook URL refused: {exc.reason}") from None
    try:
        await guard.check_url(url, allow_private=allow_private)
    except guard.UrlRefused as exc:
        raise Refused(f"webhook URL refused: {exc.reason} ({ALLOW_PRIVATE_HINT})") from None


@app.command()
def add(
    email: str,
    url: str,
    events: Annotated[
        list[str] | None,
        typer.Option(
            "--events",
            callback=parse_events,
            metavar="EVENT[,EVENT...]",
            help=f"Events to send, comma-separated or repeated: {', '.join(SUBSCRIBABLE)}. Default: all.",
        ),
    ] = None,
    inactive: Annotated[bool, typer.Option("--inactive", help="Create it switched off.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help='Print {"id", "secret"}.')] = False,
) -> None:
    """Adds a webhook to the account and prints its id and signing secret (shown only now)."""
    settings = Settings()
    keys = service.Keys(settings.resolved_secret_key(), allow_private=settings.webhook_allow_private)

    async def work(session: AsyncSession) -> tuple[str, str]:
        await check_url(url, allow_private=settings.webhook_allow_private)
        account = await accounts.require_account(session, email)
        db = Database.in_transaction(await session.connection())
        return await service.create_webhook(
            db, keys, account_id=account.id, url=url, events=events, is_active=not inactive
        )

    webhook_id, secret = run(settings, work)
    if as_json:
        typer.echo(json.dumps({"id": webhook_id, "secret": secret}))
        return
    typer.echo(f"id: {webhook_id}")
    typer.echo(f"secret: {secret}")
    typer.echo("The secret is shown only now: keep it to verify the webhook-signature header.")


@app.command("list")
def list_webhooks(
    email: str,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array of webhook objects.")] = False,
) -> None:
    """Lists the account's webhooks: id, active, events, url, why simrelay disabled it."""

    async def work(session: AsyncSession) -> list[Row[Any]]:
        account = await accounts.require_account(session, email)
        db = Database.in_transaction(await session.connection())
        found: list[Row[Any]] = []
        for page in itertools.count(1):
            total, rows = await service.list_webhooks(db, account_id=account.id, limit=PAGE, page=page)
            found += rows
            if len(rows) < PAGE or len(found) >= total:
                break
        return found

    rows = run(Settings(), work)
    if as_json:
        typer.echo(json.dumps([webhook_object(row) for row in rows]))
        return
    for row in rows:
        state = "active" if row.is_active else "inactive"
        typer.echo(f"{row.id}\t{state}\t{','.join(row.events)}\t{row.url}\t{row.disabled_reason}")


@app.command("del")
def delete(webhook_id: str) -> None:
    """Deletes a webhook with its queued events and delivery log."""

    async def work(session: AsyncSession) -> None:
        db = Database.in_transaction(await session.connection())
        account_id = await db.read(lambda conn: repository.account_of(conn, webhook_id))
        if account_id is None:
            raise ApiError(ErrorCode.WEBHOOK_NOT_FOUND)
        await service.delete_webhook(db, account_id=account_id, webhook_id=webhook_id)

    try:
        run_in_session(Settings(), work)
    except ApiError:
        typer.echo(f"error: no webhook {webhook_id}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"deleted {webhook_id}")
