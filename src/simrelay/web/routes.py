"""Panel pages under /panel: sign in and out, sign up (when open), the overview with the
account's settings; and ROUTES, every page of the panel, these and the other modules' alike.
Forms are plain HTML posts (they work without JavaScript), each with its CSRF token."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from simrelay.accounts import login
from simrelay.accounts import repository as account_records
from simrelay.accounts.guessing import TooManyGuesses
from simrelay.api.deps import client_host, services
from simrelay.devices import pauses
from simrelay.sms import repository as sms_records
from simrelay.sms.intake import month_of
from simrelay.web import campaigns, devices, hooks, keys, messages, sims, smpp, smpp_routes, usage
from simrelay.web.common import (
    HERE,
    SignedIn,
    current,
    form_view,
    page_view,
    panel,
    redirect,
    render,
)
from simrelay.web.sessions import Session
from simrelay.webhooks.models import Webhook

MIN = 12
"""Shortest password accepted at sign-up."""


@page_view
async def overview(page: SignedIn) -> Response:
    month = month_of(time.time())
    facts = await page.app.db.read(lambda conn: _overview(conn, page.account_id, month))
    if facts is None:  # the account is gone
        return redirect(page.request, "/panel/login", Session.anonymous())
    return page.render("overview.html", **facts)


def _overview(conn: Connection, account_id: str, month: int) -> dict[str, Any] | None:
    account = login.find_by_id(conn, account_id)
    if account is None or account.is_blocked:
        return None
    facts = sms_records.fetch_account_facts(conn, {account_id}, month=month)[account_id]
    switched_off = conn.execute(
        select(Webhook.url, Webhook.disabled_reason).where(
            Webhook.account_id == account_id, Webhook.disabled_reason != ""
        )
    ).all()
    return {
        "used": facts.used_this_month,
        "quota": facts.monthly_quota,
        "switched_off": [dict(row._mapping) for row in switched_off],
        "resend_lost": bool(account.resend_lost),
        "paused": pauses.paused_for_account(conn, account_id, now=time.time()),
    }


@form_view
async def change_settings(page: SignedIn, form: FormData) -> Response:
    resend = form.get("resend_lost") == "on"
    await page.app.db.run(lambda conn: account_records.set_resend_lost(conn, page.account_id, resend=resend))
    return page.back("/panel")


async def login_page(request: Request) -> Response:
    session = current(request)
    if session.account_id:
        return redirect(request, "/panel", session)
    return render(request, session, "login.html", open_signup=panel(request).open_signup)


async def sign_in(request: Request) -> Response:
    session = current(request)
    form = await request.form()
    if not session.accepts(str(form.get("csrf_token", ""))):
        return render(request, Session.anonymous(), "login.html", 403, error="bad_form")
    email = login.normalise_email(str(form.get("email", "")))[:320]
    app = services(request)
    try:
        account = await login.check_password(
            app.db,
            app.guesses,
            email,
            str(form.get("password", "")),
            client_host=client_host(request),
        )
    except TooManyGuesses as throttled:
        response = render(request, session, "login.html", 429, error="too_many", email=email)
        response.headers["Retry-After"] = str(throttled.retry_after)
        return response
    if account is None:
        return render(request, session, "login.html", 401, error="wrong_login", email=email)
    if account.is_blocked:
        return render(request, session, "login.html", 403, error="blocked", email=email)
    return redirect(request, "/panel", Session.signed_in(account.id))


async def sign_out(request: Request) -> Response:
    session = current(request)
    form = await request.form()
    if not session.accepts(str(form.get("csrf_token", ""))):
        return render(request, session, "login.html", 403, error="bad_form")
    return redirect(request, "/panel/login", Session.anonymous())


async def signup_page(request: Request) -> Response:
    if not panel(request).open_signup:
        return Response(status_code=404)
    return render(request, current(request), "signup.html", minimum=MIN)


async def sign_up(request: Request) -> Response:
    if not panel(request).open_signup:
        return Response(status_code=404)
    session = current(request)
    form = await request.form()
    if not session.accepts(str(form.get("csrf_token", ""))):
        return render(request, Session.anonymous(), "signup.html", 403, error="bad_form", minimum=MIN)
    email = login.normalise_email(str(form.get("email", "")))[:320]
    password = str(form.get("password", ""))
    if "@" not in email or len(password) < MIN or not email.isprintable():
        return render(request, session, "signup.html", 400, error="password_rule", email=email, minimum=MIN)
    account_id = await login.sign_up(services(request).db, email, password)
    if account_id is None:
        return render(request, session, "signup.html", 409, error="taken", email=email, minimum=MIN)
    return redirect(request, "/panel", Session.signed_in(account_id))


ROUTES = [
    *keys.ROUTES,
    *smpp_routes.ROUTES,  # before smpp's: /panel/smpp/{user_id} would take /panel/smpp/routes
    *smpp.ROUTES,
    *sims.ROUTES,
    *devices.ROUTES,
    *messages.ROUTES,
    *campaigns.ROUTES,
    *hooks.ROUTES,
    *usage.ROUTES,
    Route("/panel", overview, methods=["GET"]),
    Route("/panel/settings", change_settings, methods=["POST"]),
    Route("/panel/login", login_page, methods=["GET"]),
    Route("/panel/login", sign_in, methods=["POST"]),
    Route("/panel/logout", sign_out, methods=["POST"]),
    Route("/panel/signup", signup_page, methods=["GET"]),
    Route("/panel/signup", sign_up, methods=["POST"]),
    Mount("/panel/static", StaticFiles(directory=HERE / "static"), name="static"),
]
