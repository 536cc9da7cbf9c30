"""The `simrelay` command."""

from __future__ import annotations

import typer

from simrelay.cli import account, db, device, key, modem, serve, smpp, sms, webhook

app = typer.Typer(no_args_is_help=True, add_completion=False, help="simrelay SMS gateway")
app.add_typer(account.app, name="account", help="Accounts: create, block, unblock.")
app.add_typer(key.app, name="key", help="API keys: create, list, activate, deactivate, delete.")
app.add_typer(device.app, name="device", help="Devices: pair, simulate, add records.")
app.add_typer(webhook.app, name="webhook", help="Webhooks: add, list, delete.")
app.add_typer(sms.app, name="sms", help="SMS through the API: send, get, list, delete.")
app.add_typer(smpp.app, name="smpp", help="SMPP server: users that clients bind as.")
app.add_typer(modem.app, name="modem", help="USB GSM modems as devices: run, probe.")
app.add_typer(db.app, name="db", help="Database: upgrade the schema, back up.")
app.command("serve")(serve.serve)
app.command("quickstart")(serve.quickstart)


def main() -> None:
    app()
