"""Panel pages under /panel: sign in and out, sign up (when open), the overview. Forms are
plain HTML posts (they work without JavaScript), each with its CSRF token."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.engine import Connection
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from simrelay.accounts import login
from simrelay.api.deps import services
from simrelay.sms import repository as sms_records
from simrelay.sms.intake import month_of
from simrelay.web.i18n import pick_language, translator
from simrelay.web.sessions import COOKIE, LoginLimiter, Session, SessionCodec
from simrelay.webhooks.models import Webhook

HERE = Path(__file__).parent
PASSWORD_MIN = 12
templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape())


class Panel:
    """What the pages share: the session codec and the sign-in limiter."""

    def __init__(self, secret_key: str, *, session_hours: float, open_signup: bool) -> None:
        self.codec = SessionCodec(secret_key, max_age_seconds=session_hours * 3600)
        self.limiter = LoginLimiter()
        self.open_signup = open_signup


def panel(request: Request) -> Panel:
    found: Panel = request.app.state.panel
    return found


def current(request: Request) -> Session:
    return panel(request).codec.load(request.cookies.get(COOKIE)) or Session.anonymous()


def render(request: Request, session: Session, name: str, status: int = 200, **context: Any) -> Response:
    language = pick_language(
        chosen=request.query_params.get("lang") or request.cookies.get("lang"),
        accept_language=request.headers.get("accept-language"),
    )
    html = templates.get_template(name).render(
        t=translator(language),
        lang=language,
        csrf=session.csrf,
        signed_in=bool(session.account_id),
        **context,
    )
    response = HTMLResponse(html, status_code=status)
    remember(request, response, session)
    if request.query_params.get("lang") == language:
        response.set_cookie("lang", language, max_age=365 * 86400, samesite="lax")
    return response


def remember(request: Request, response: Response, session: Session) -> None:
    response.set_cookie(
        COOKIE,
        panel(request).codec.dump(session),
        max_age=int(panel(request).codec.max_age),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https" or services(request).settings.public_url.startswith("https"),
        path="/panel",
    )


def redirect(request: Request, path: str, session: Session) -> Response:
    response = RedirectResponse(path, status_code=303)
    remember(request, response, session)
    return response


async def overview(request: Request) -> Response:
    session = current(request)
    if not session.account_id:
        return redirect(request, "/panel/login", session)
    app = services(request)
    month = month_of(time.time())
    facts = await app.db.read(lambda conn: _overview(conn, session.account_id, month))
    if facts is None:  # the account is gone
        return redirect(request, "/panel/login", Session.anonymous())
    return render(request, session, "overview.html", **facts)


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
        "email": account.email,
        "used": facts.used_this_month,
        "quota": facts.monthly_quota,
        "switched_off": [dict(row._mapping) for row in switched_off],
    }


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
    keys = (f"ip:{request.client.host if request.client else ''}", f"email:{email}")
    limiter = panel(request).limiter
    if not limiter.allowed(*keys):
        return render(request, session, "login.html", 429, error="too_many", email=email)
    account = await login.authenticate(services(request).db, email, str(form.get("password", "")))
    if account is None:
        limiter.failed(*keys)
        return render(request, session, "login.html", 401, error="wrong_login", email=email)
    if account.is_blocked:
        return render(request, session, "login.html", 403, error="blocked", email=email)
    limiter.forget(*keys)
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
    return render(request, current(request), "signup.html", minimum=PASSWORD_MIN)


async def sign_up(request: Request) -> Response:
    if not panel(request).open_signup:
        return Response(status_code=404)
    session = current(request)
    form = await request.form()
    if not session.accepts(str(form.get("csrf_token", ""))):
        return render(
            request, Session.anonymous(), "signup.html", 403, error="bad_form", minimum=PASSWORD_MIN
        )
    email = login.normalise_email(str(form.get("email", "")))[:320]
    password = str(form.get("password", ""))
    if "@" not in email or len(password) < PASSWORD_MIN:
        return render(
            request, session, "signup.html", 400, error="password_rule", email=email, minimum=PASSWORD_MIN
        )
    account_id = await login.sign_up(services(request).db, email, password)
    if account_id is None:
        return render(request, session, "signup.html", 409, error="taken", email=email, minimum=PASSWORD_MIN)
    return redirect(request, "/panel", Session.signed_in(account_id))


ROUTES = [
    Route("/panel", overview, methods=["GET"]),
    Route("/panel/login", login_page, methods=["GET"]),
    Route("/panel/login", sign_in, methods=["POST"]),
    Route("/panel/logout", sign_out, methods=["POST"]),
    Route("/panel/signup", signup_page, methods=["GET"]),
    Route("/panel/signup", sign_up, methods=["POST"]),
    Mount("/panel/static", StaticFiles(directory=HERE / "static"), name="static"),
]
