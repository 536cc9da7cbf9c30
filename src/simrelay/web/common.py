"""What every panel page shares: templates, the session, rendering, redirects, CSRF checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.engine import Row
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from simrelay.accounts import login
from simrelay.api.deps import Services, services
from simrelay.errors import ApiError
from simrelay.timestamps import iso_millis
from simrelay.web.i18n import pick_language, translator
from simrelay.web.sessions import COOKIE, Session, SessionCodec

HERE = Path(__file__).parent
templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape())
templates.filters["when"] = lambda moment: iso_millis(moment).replace("T", " ")[:19] if moment else "—"


class Panel:
    """What the pages share: the session codec, and whether anyone may sign up. Sign-in attempts
    count in the app's limiter of every secret check (Services.guesses), not here."""

    def __init__(self, secret_key: str, *, session_hours: float, open_signup: bool) -> None:
        self.codec = SessionCodec(secret_key, max_age_seconds=session_hours * 3600)
        self.open_signup = open_signup


def panel(request: Request) -> Panel:
    found: Panel = request.app.state.panel
    return found


def current(request: Request) -> Session:
    return panel(request).codec.load(request.cookies.get(COOKIE)) or Session.anonymous()


def language(request: Request) -> str:
    return pick_language(
        chosen=request.query_params.get("lang") or request.cookies.get("lang"),
        accept_language=request.headers.get("accept-language"),
    )


def render(request: Request, session: Session, name: str, status: int = 200, **context: Any) -> Response:
    chosen = language(request)
    html = templates.get_template(name).render(
        t=translator(chosen),
        lang=chosen,
        csrf=session.csrf,
        signed_in=bool(session.account_id),
        path=request.url.path,
        **context,
    )
    response = HTMLResponse(html, status_code=status)
    remember(request, response, session)
    if request.query_params.get("lang") == chosen:
        response.set_cookie("lang", chosen, max_age=365 * 86400, samesite="lax")
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


class SignedIn:
    """A signed-in, unblocked account's request."""

    def __init__(self, request: Request, session: Session, account: Row[Any]) -> None:
        self.request = request
        self.session = session
        self.account = account

    @property
    def app(self) -> Services:
        return services(self.request)

    @property
    def account_id(self) -> str:
        return str(self.account.id)

    def render(self, name: str, status: int = 200, **context: Any) -> Response:
        return render(
            self.request,
            self.session,
            name,
            status,
            email=self.account.email,
            is_admin=bool(self.account.is_admin),
            **context,
        )

    def failure(self, error: ApiError) -> str:
        """An API error as the panel shows it: the contract's code and message."""
        return f"{error.error.code}: {error.error.text(language(self.request), **error.params)}"

    def back(self, path: str) -> Response:
        return redirect(self.request, path, self.session)


async def signed_in(request: Request) -> SignedIn | Response:
    """The signed-in account, or the redirect to the sign-in page."""
    session = current(request)
    if session.account_id:
        account = await services(request).db.read(lambda conn: login.find_by_id(conn, session.account_id))
        if account is not None and not account.is_blocked:
            return SignedIn(request, session, account)
    return redirect(request, "/panel/login", Session.anonymous())


async def checked_form(page: SignedIn) -> FormData | Response:
    """The posted form if it carries the session's CSRF token; else a 403 page."""
    form = await page.request.form()
    if not page.session.accepts(str(form.get("csrf_token", ""))):
        return page.render("error.html", 403, error="bad_form")
    return form


View = Callable[[Request], Awaitable[Response]]


def page_view(handler: Callable[[SignedIn], Awaitable[Response]]) -> View:
    """A page for signed-in accounts; anyone else goes to the sign-in page."""

    @wraps(handler)
    async def view(request: Request) -> Response:
        page = await signed_in(request)
        if not isinstance(page, SignedIn):
            return page
        return await handler(page)

    return view


def form_view(handler: Callable[[SignedIn, FormData], Awaitable[Response]]) -> View:
    """A form post of a signed-in account, handled only with the session's CSRF token."""

    @page_view
    @wraps(handler)
    async def view(page: SignedIn) -> Response:
        form = await checked_form(page)
        if isinstance(form, Response):
            return form
        return await handler(page, form)

    return view
