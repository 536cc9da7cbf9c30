"""Panel: the inbox (and its CSV), usage (SMS per day by status, as an SVG drawn here), and the
admin page (accounts, block and unblock, quotas) for admin accounts."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from sqlalchemy.engine import Connection
from starlette.responses import Response
from starlette.routing import Route

from simrelay.accounts import repository as account_records
from simrelay.api.body import period
from simrelay.api.responses import csv_attachment
from simrelay.errors import ApiError
from simrelay.inbox import service as inbox
from simrelay.inbox.export import export_received
from simrelay.sms import repository as sms_records
from simrelay.sms.intake import month_of
from simrelay.sms.status import Status
from simrelay.web.common import SignedIn, checked_form, page_view
from simrelay.web.messages import SEARCH_MAX

DAYS = 30
DAY = 86400
COLOURS = {0: "#9aa5b1", 1: "#60a5fa", 2: "#2563eb", 3: "#dc2626", 4: "#16a34a", 5: "#f59e0b"}


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
    counts, facts = await page.app.db.read(
        lambda conn: (
            sms_records.created_per_day(conn, page.account_id, since=first_day * DAY, day=DAY),
            sms_records.fetch_account_facts(conn, {page.account_id}, month=month_of(now))[page.account_id],
        )
    )
    return page.render(
        "usage.html",
        chart=chart(counts, first_day=first_day),
        used=facts.used_this_month,
        quota=facts.monthly_quota,
        legend=[(COLOURS[s.value], s.text) for s in Status],
    )


def chart(counts: dict[tuple[int, int], int], *, first_day: int) -> dict[str, Any]:
    """Stacked bars, one per day: rectangles to draw (the template writes the SVG)."""
    totals: dict[int, int] = defaultdict(int)
    for (day, _), count in counts.items():
        totals[day] += count
    top = max(totals.values(), default=0) or 1
    width, height, bar = 600, 160, 600 / DAYS
    bars = []
    for index in range(DAYS):
        day, y = first_day + index, float(height)
        for status in range(6):
            count = counts.get((day, status), 0)
            if count:
                size = height * count / top
                y -= size
                bars.append(
                    {
                        "x": round(index * bar + 1, 1),
                        "y": round(y, 1),
                        "w": round(bar - 2, 1),
                        "h": round(size, 1),
                        "fill": COLOURS[status],
                        "title": f"{time.strftime('%Y-%m-%d', time.gmtime(day * DAY))}: {count}",
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
