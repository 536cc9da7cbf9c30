"""Panel: the inbox (and its CSV), usage (SMS per day by status, and taken per device and SIM, as
SVGs drawn here), and the admin page (accounts, block and unblock, quotas) for admin accounts."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Hashable, Mapping
from typing import Any

from sqlalchemy.engine import Connection
from starlette.responses import Response
from starlette.routing import Route

from simrelay.accounts import repository as account_records
from simrelay.api.body import period
from simrelay.api.responses import csv_attachment
from simrelay.devices import repository as device_records
from simrelay.errors import ApiError
from simrelay.inbox import service as inbox
from simrelay.inbox.export import export_received
from simrelay.sms import history
from simrelay.sms import repository as sms_records
from simrelay.sms.intake import month_of
from simrelay.sms.status import Status
from simrelay.web.common import SignedIn, checked_form, language, page_view
from simrelay.web.i18n import translator
from simrelay.web.messages import SEARCH_MAX

DAYS = 30
DAY = 86400
COLOURS = {0: "#9aa5b1", 1: "#60a5fa", 2: "#2563eb", 3: "#dc2626", 4: "#16a34a", 5: "#f59e0b"}
SIM_COLOURS = ["#2563eb", "#f59e0b", "#16a34a", "#9333ea", "#dc2626", "#0891b2", "#65a30d", "#db2777"]
"""One per device and SIM, in turn (more series than colours repeat them)."""


@page_view
async def inbox_page(page: SignedIn) -> Response:
    search = page.request.query_params.get("search", "")[:SEARCH_MAX]
    total, rows = await inbox.list_received(
        page.app.db, account_id=page.account_id, limit=50, page=1, query=search
    )
    return page.render("inbox.html", received=rows, total=total, search=search)


@page_view
async def inbox_export(page: SignedIn) -> Response:
    """The CSV of `GET /v1/inbox/export.csv` for the signed-in account (see messages.export)."""
    try:
        start, end = period(page.request)
    except ApiError as exc:
        return page.render("error.html", 400, failure=page.failure(exc))
    search = page.request.query_params.get("search", "")[:SEARCH_MAX]
    chunks = export_received(page.app.db, account_id=page.account_id, start=start, end=end, query=search)
    return await csv_attachment(chunks, name="inbox")


@page_view
async def usage_page(page: SignedIn) -> Response:
    now = time.time()
    first_day = int(now // DAY) - DAYS + 1
    account_id = page.account_id

    def read(conn: Connection) -> tuple[Any, ...]:
        devices = device_records.all_devices(conn, account_id=account_id)  # only this account's
        return (
            sms_records.created_per_day(conn, account_id, since=first_day * DAY, day=DAY),
            sms_records.fetch_account_facts(conn, {account_id}, month=month_of(now))[account_id],
            devices,
            history.takes_per_day(conn, [d.id for d in devices], since=first_day * DAY, day=DAY),
        )

    counts, facts, devices, takes = await page.app.db.read(read)
    default_sim = translator(language(page.request))["sim_default"]
    return page.render(
        "usage.html",
        chart=chart(counts, first_day=first_day),
        used=facts.used_this_month,
        quota=facts.monthly_quota,
        legend=[(COLOURS[s.value], s.text) for s in Status],
        sims=sim_chart(
            takes, names={d.id: d.name or d.id for d in devices}, default_sim=default_sim, first_day=first_day
        ),
    )


def chart(counts: dict[tuple[int, int], int], *, first_day: int) -> dict[str, Any]:
    """Stacked bars, one per day, a colour per status: rectangles to draw (the template writes
    the SVG)."""
    cells = {(status, day): count for (day, status), count in counts.items()}
    return _stacked(cells, {status: (COLOURS[status], "") for status in range(6)}, first_day=first_day)


def sim_chart(
    takes: dict[tuple[str, int | None, int], int], *, names: dict[str, str], default_sim: str, first_day: int
) -> dict[str, Any]:
    """Stacked bars, one per day, a colour per device and SIM, and the legend: (colour, "device
    name · SIM n", SMS taken in the period) per device and SIM that took any."""
    keys = sorted(
        {(device, sim) for device, sim, _ in takes}, key=lambda k: (k[0], -1 if k[1] is None else k[1])
    )
    series = {
        key: (
            SIM_COLOURS[index % len(SIM_COLOURS)],
            f"{names.get(key[0], key[0])} · {default_sim if key[1] is None else f'SIM {key[1]}'}",
        )
        for index, key in enumerate(keys)
    }
    cells = {((device, sim), day): count for (device, sim, day), count in takes.items()}
    drawn = _stacked(cells, series, first_day=first_day)
    sums: dict[Hashable, int] = defaultdict(int)
    for (key, _), count in cells.items():
        sums[key] += count
    drawn["legend"] = [(colour, label, sums[key]) for key, (colour, label) in series.items()]
    return drawn


def _stacked(
    cells: Mapping[tuple[Any, int], int], series: dict[Any, tuple[str, str]], *, first_day: int
) -> dict[str, Any]:
    """(series, day number) -> count, as one bar per day of DAYS, stacked in the order of
    `series` (series -> (colour, label)); the tallest day fills the height."""
    totals: dict[int, int] = defaultdict(int)
    for (_, day), count in cells.items():
        totals[day] += count
    top = max(totals.values(), default=0) or 1
    width, height, bar = 600, 160, 600 / DAYS
    bars = []
    for index in range(DAYS):
        day, y = first_day + index, float(height)
        for key, (colour, label) in series.items():
            count = cells.get((key, day), 0)
            if count:
                size = height * count / top
                y -= size
                when = time.strftime("%Y-%m-%d", time.gmtime(day * DAY))
                bars.append(
                    {
                        "x": round(index * bar + 1, 1),
                        "y": round(y, 1),
                        "w": round(bar - 2, 1),
                        "h": round(size, 1),
                        "fill": colour,
                        "title": f"{when} {label}: {count}" if label else f"{when}: {count}",
                    }
                )
    return {"width": width, "height": height, "bars": bars, "top": top}


@page_view
async def admin_page(page: SignedIn) -> Response:
    if not page.account.is_admin:
        return page.render("error.html", 404)
    month = month_of(time.time())
    rows = await page.app.db.read(lambda conn: _accounts(conn, month))
    return page.render("admin.html", accounts=rows)


def _accounts(conn: Connection, month: int) -> list[dict[str, Any]]:
    accounts = account_records.newest_accounts(conn, limit=500)
    facts = sms_records.fetch_account_facts(conn, {a.id for a in accounts}, month=month) if accounts else {}
    return [{"account": a, "used": facts[a.id].used_this_month} for a in accounts]


@page_view
async def admin_change(page: SignedIn) -> Response:
    if not page.account.is_admin:
        return page.render("error.html", 404)
    form = await checked_form(page)
    if isinstance(form, Response):
        return form
    target = page.request.path_params["account_id"]
    action = str(form.get("action", ""))
    if action in ("block", "unblock") and target != page.account_id:  # never lock yourself out
        blocked = action == "block"
        await page.app.db.run(lambda conn: account_records.set_blocked(conn, target, blocked=blocked))
    elif action == "quota":
        text = str(form.get("quota", "")).strip()
        quota = int(text) if text.isdigit() else None
        await page.app.db.run(lambda conn: account_records.set_quota(conn, target, quota=quota))
    return page.back("/panel/admin")


ROUTES = [
    Route("/panel/inbox", inbox_page, methods=["GET"]),
    Route("/panel/inbox/export.csv", inbox_export, methods=["GET"]),
    Route("/panel/usage", usage_page, methods=["GET"]),
    Route("/panel/admin", admin_page, methods=["GET"]),
    Route("/panel/admin/{account_id}", admin_change, methods=["POST"]),
]
