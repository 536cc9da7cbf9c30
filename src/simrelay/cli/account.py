"""`simrelay account create | block | unblock | settings`."""

from __future__ import annotations

from typing import Annotated

import typer

from simrelay.accounts import service
from simrelay.cli.runtime import run_in_session
from simrelay.config import Settings

app = typer.Typer(no_args_is_help=True)


@app.command()
def create(
    email: str,
    password: Annotated[str | None, typer.Option(help="Panel password (argon2-hashed).")] = None,
    quota: Annotated[int | None, typer.Option(min=0, help="Monthly SMS quota; default unlimited.")] = None,
    admin: Annotated[bool, typer.Option(help="May use the admin pages.")] = False,
) -> None:
    account = run_in_session(
        Settings(),
        lambda s: service.create_account(s, email, password=password, monthly_quota=quota, is_admin=admin),
    )
    typer.echo(f"created account {account.email} ({account.id})")


@app.command()
def block(email: str) -> None:
    run_in_session(Settings(), lambda s: service.set_blocked(s, email, blocked=True))
    typer.echo(f"blocked {email}")


@app.command()
def unblock(email: str) -> None:
    run_in_session(Settings(), lambda s: service.set_blocked(s, email, blocked=False))
    typer.echo(f"unblocked {email}")


@app.command()
def settings(
    email: str,
    resend_lost: Annotated[
        bool | None,
        typer.Option(
            "--resend-lost/--no-resend-lost",
            help="An SMS whose device vanished after it was handed over goes to another device "
            "(it MAY BE SENT TWICE) instead of ending in status 3 'device lost'. Default: off.",
        ),
    ] = None,
) -> None:
    """Shows the account's settings, changing those given."""
    if resend_lost is not None:
        run_in_session(Settings(), lambda s: service.set_resend_lost(s, email, resend=resend_lost))
    account = run_in_session(Settings(), lambda s: service.require_account(s, email))
    typer.echo(f"resend_lost: {'on (may send twice)' if account.resend_lost else 'off'}")
