"""`simrelay sms send | get | list | del`: SMS through the HTTP API, with `simrelay.client`
(so it works against any simrelay server, not only one whose database is at hand)."""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, NoReturn, TextIO

import httpx
import typer

from simrelay.client import Client, SimrelayError, Sms, SmsStatus

app = typer.Typer(no_args_is_help=True)

DEFAULT_URL = "http://127.0.0.1:8000"
POLL_SECONDS = 0.5
MESSAGE_WIDTH = 40

Url = Annotated[str, typer.Option("--url", envvar="SIMRELAY_URL", help="Server base URL.", show_default=True)]
Token = Annotated[
    str, typer.Option("--token", envvar="SIMRELAY_TOKEN", help="API token.", show_default=False)
]


def fail(message: str) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(1)


@contextmanager
def connect(url: str, token: str) -> Iterator[Client]:
    """A client of `url`; an API error or a network failure ends the command with exit 1."""
    if not token:
        fail("error: no API token: pass --token or set SIMRELAY_TOKEN")
    try:
        with Client(url, token) as client:
            yield client
    except SimrelayError as exc:
        fail(f"error {exc.code}: {exc.message}")
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        fail(f"error: cannot reach {url}: {exc}")


class StatusLine:
    """The live status on stderr: one line rewritten with `\\r` on a terminal, otherwise a new
    line only when the status changes (logs stay short)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.width = 0
        self.shown = ""

    def show(self, key: str, text: str) -> None:
        if self.tty:
            self.stream.write("\r" + text.ljust(self.width))
            self.width = max(self.width, len(text))
        elif key != self.shown:
            self.stream.write(text + "\n")
        self.shown = key
        self.stream.flush()

    def end(self, note: str = "") -> None:
        if self.tty and self.width:
            self.stream.write("\n")
        if note:
            self.stream.write(note + "\n")
        self.stream.flush()


def follow(client: Client, sms_id: str, *, timeout: float) -> int:
    """Polls the SMS until a final status (or `timeout`); the exit code: 0 delivered, or sent
    when the timeout came before a delivery report; 1 failed, or not sent in time; 130 on Ctrl-C."""
    line = StatusLine(sys.stderr)
    try:
        return poll(client, sms_id, line, timeout=timeout)
    except KeyboardInterrupt:
        line.end("stopped following; the SMS itself is not cancelled")
        return 130


def poll(client: Client, sms_id: str, line: StatusLine, *, timeout: float) -> int:
    started = time.monotonic()
    while True:
        sms = client.get_sms(sms_id)
        elapsed = time.monotonic() - started
        line.show(str(sms.status), f"status {sms.status} {sms.message_status} ({elapsed:.1f} s)")
        if sms.is_final:
            line.end(failure_note(client, sms))
            return 0 if sms.status == SmsStatus.DELIVERED else 1
        if elapsed >= timeout:
            if sms.status == SmsStatus.SENT:
                line.end(f"sent; no delivery report within {timeout:g} s")
                return 0
            line.end(f"not sent within {timeout:g} s (status {sms.status})")
            return 1
        time.sleep(min(POLL_SECONDS, max(0.0, timeout - elapsed)))


def failure_note(client: Client, sms: Sms) -> str:
    """Why a failed SMS failed, from its history ("" when it did not fail or no reason is known)."""
    if sms.status not in (SmsStatus.SEND_FAILED, SmsStatus.NOT_DELIVERED):
        return ""
    reasons = [change.reason for change in client.sms_history(sms.id) if change.reason]
    return f"reason: {reasons[-1]}" if reasons else ""


@app.command()
def send(
    phone: Annotated[str, typer.Argument(metavar="PHONE", help="Recipient: digits, one leading + allowed.")],
    text: Annotated[str, typer.Argument(metavar="TEXT", help="The message.")],
    device: Annotated[str | None, typer.Option("--device", help="Only this device may send it.")] = None,
    sim: Annotated[
        int | None, typer.Option("--sim", help="SIM slot: -2 device default, -1 random, 0.. a slot.")
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Follow the status until delivered, failed or the timeout.")
    ] = False,
    wait_timeout: Annotated[
        float, typer.Option("--wait-timeout", min=0.0, help="Seconds --wait follows the status.")
    ] = 120.0,
    url: Url = DEFAULT_URL,
    token: Token = "",
) -> None:
    """Sends an SMS and prints its id.

    With --wait, shows its status on stderr until it is final: exit 0 when delivered (or sent,
    when no delivery report came within --wait-timeout), 1 when it failed or was not sent in time.
    """
    with connect(url, token) as client:
        sms_id = client.send_sms(phone, text, device_id=device, to_sim=sim)
        typer.echo(sms_id)
        if wait:
            code = follow(client, sms_id, timeout=wait_timeout)
            if code:
                raise typer.Exit(code)


@app.command()
def get(
    sms_id: Annotated[str, typer.Argument(metavar="ID")], url: Url = DEFAULT_URL, token: Token = ""
) -> None:
    """Prints one SMS as JSON."""
    with connect(url, token) as client:
        sms = client.get_sms(sms_id)
    typer.echo(json.dumps(dataclasses.asdict(sms), ensure_ascii=False, indent=2))


@app.command("list")
def list_sms(
    search: Annotated[str, typer.Option("--search", help="Text, number or status text to match.")] = "",
    limit: Annotated[int, typer.Option("--limit", help="SMS per page, 1..100.")] = 20,
    offset: Annotated[int, typer.Option("--offset", help="Page number, from 1.")] = 1,
    url: Url = DEFAULT_URL,
    token: Token = "",
) -> None:
    """Lists SMS, newest first: id, status, phone, created (local time), message."""
    with connect(url, token) as client:
        page = client.list_sms(limit=limit, offset=offset, search=search)
    rows = [["ID", "STATUS", "PHONE", "CREATED", "MESSAGE"]]
    rows += [
        [sms.id, f"{sms.status} {sms.message_status}", sms.phone_number, created(sms), shorten(sms.message)]
        for sms in page.items
    ]
    if page.items:
        widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
        for row in rows:
            cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
            typer.echo("  ".join([*cells, row[-1]]).rstrip())
    first = (page.offset - 1) * page.limit + 1
    shown = f"{first}-{first + len(page.items) - 1}" if page.items else "none"
    typer.echo(f"{shown} of {page.total} (page {page.offset})", err=True)


@app.command("del")
def delete(
    sms_id: Annotated[str, typer.Argument(metavar="ID")], url: Url = DEFAULT_URL, token: Token = ""
) -> None:
    """Deletes an SMS (a waiting one is never sent)."""
    with connect(url, token) as client:
        client.delete_sms(sms_id)
    typer.echo(f"deleted {sms_id}")


def created(sms: Sms) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(sms.time_create))


def shorten(message: str, width: int = MESSAGE_WIDTH) -> str:
    """One line of at most `width` characters."""
    flat = " ".join(message.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
