"""The web portal: server-rendered HTML (Jinja2), Japanese by default, English by ``?lang=en``
(remembered in a cookie). No JavaScript and no external assets.

Sign-in: an access token typed into a form, or OIDC (authorization code with PKCE). Either ends
in a session cookie: random, stored hashed, HttpOnly, SameSite=Lax, Secure unless switched off
for http://127.0.0.1 development (then the ``__Host-`` prefix, which requires Secure, is dropped).
Every state-changing form carries a CSRF token: the session's synchronizer token, or for the
sign-in form a double-submit cookie (OWASP CSRF Prevention Cheat Sheet). Elements the browser
test drives have stable ``id`` / ``data-testid`` attributes.
"""

from __future__ import annotations

import functools
import re
import secrets
from pathlib import Path
from typing import Optional

from fastapi import APIRouter, Request
# Portal handlers are async (they read forms); the service calls block (the workspace lock, planning
# in a preflight), so they run in the thread pool instead of stalling every request of the process.
from starlette.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from govcloud.service import auth, i18n
from govcloud.service.auth import Caller
from govcloud.service.core import DIGEST_PATTERN, Expected, Service
from govcloud.service.errors import ServiceError, forbidden
from govcloud.service.middleware import client_address

HERE = Path(__file__).resolve().parent
env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                  trim_blocks=True, lstrip_blocks=True)
router = APIRouter(include_in_schema=False)
MAX_UPLOAD = 256 * 1024
OIDC_COOKIE = "govcloud-oidc"


def cookie_names(svc: Service) -> tuple[str, str]:
    # The __Host- prefix (RFC 6265bis §4.1.3.2) pins a cookie to this host, path /, Secure.
    if svc.config.secure_cookies:
        return "__Host-govcloud-session", "__Host-govcloud-csrf"
    return "govcloud-session", "govcloud-csrf"


def _svc(request: Request) -> Service:
    return request.app.state.service


def lang_of(request: Request) -> str:
    return i18n.choose(request.query_params.get("lang"), request.cookies.get(i18n.COOKIE))


def _diagnostic_text(lang: str):
    """A diagnostic's message in the page's language (the CLI's catalogue, govcloud/messages)."""
    from govcloud.messages import translate

    def field(d, name: str) -> str:
        return d[name] if isinstance(d, dict) else getattr(d, name)

    return (lambda d: translate(field(d, "code"), field(d, "message"))) if lang == "ja" else (lambda d: field(d, "message"))


def render(request: Request, template: str, status: int = 200, caller: Caller | None = None,
           headers: dict | None = None, **context) -> HTMLResponse:
    lang = lang_of(request)
    svc = _svc(request)
    csrf = caller.session.csrf_token if caller and caller.session else None
    html = env.get_template(template).render(
        t=i18n.translator(lang), lang=lang, other_lang="en" if lang == "ja" else "ja", caller=caller, csrf=csrf,
        path=request.url.path, oidc=svc.oidc is not None, say=_diagnostic_text(lang), **context)
    response = HTMLResponse(html, status_code=status, headers=headers)
    if request.query_params.get("lang") in i18n.LANGS:
        response.set_cookie(i18n.COOKIE, lang, max_age=365 * 86400, httponly=True, samesite="lax",
                            secure=svc.config.secure_cookies, path="/")
    return response


def error_page(request: Request, status: int, message: str, diagnostics=None, headers: dict | None = None) -> HTMLResponse:
    caller = None
    try:
        caller = session_caller(request)
    except Exception:  # noqa: BLE001 - an error page never fails on the session
        caller = None
    return render(request, "error.html", status=status, caller=caller, headers=headers, message=message, code=status,
                  diagnostics=[d.as_dict() for d in diagnostics or []])


def session_caller(request: Request) -> Caller | None:
    svc = _svc(request)
    row = auth.session_for(svc.Session, request.cookies.get(cookie_names(svc)[0]))
    if row is None:
        return None
    principal = svc.directories.principal(row.principal)
    if principal is None:
        return None
    request.scope.setdefault("state", {})["principal"] = principal.id
    return Caller(principal, row.authentication, row)


def require_caller(request: Request) -> Caller:
    caller = session_caller(request)
    if caller is None:
        raise _SignIn()
    return caller


class _SignIn(Exception):
    pass


async def form_of(request: Request, caller: Caller) -> dict:
    """The posted form, after its CSRF token is checked against the session's."""
    form = await request.form(max_part_size=MAX_UPLOAD)
    if not auth.same(form.get("csrf_token") if isinstance(form.get("csrf_token"), str) else None,
                     caller.session.csrf_token):
        raise forbidden("the form's CSRF token is missing or wrong: reload the page and try again")
    return form


async def request_text(form) -> str:
    upload = form.get("file")
    if upload is not None and not isinstance(upload, str) and getattr(upload, "filename", ""):
        data = await upload.read(MAX_UPLOAD + 1)
        if len(data) > MAX_UPLOAD:
            raise ServiceError(413, "too_large", "the file is too large")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise ServiceError(400, "not_utf8", "the file is not UTF-8 text") from None
    text = form.get("yaml")
    if not isinstance(text, str) or not text.strip():
        raise ServiceError(400, "empty", "paste the request YAML or choose a file")
    # Browsers send textarea line breaks as CRLF (HTML §4.10.21.8); the YAML is LF text.
    return text.replace("\r\n", "\n")


def stale_page(request: Request, exc) -> HTMLResponse:
    """409 for a decision about content that is no longer the submission's (errors.Stale): the
    current content and digest, what changed since the revision the decider saw, and a way
    back to review it again. Nothing was signed."""
    import difflib

    caller = None
    try:
        caller = session_caller(request)
    except Exception:  # noqa: BLE001 - the page never fails on the session
        caller = None
    current = exc.submission
    seen = current.get("seen")
    diff = None
    if seen:
        diff = list(difflib.unified_diff(seen["yaml"].splitlines(), current["yaml"].splitlines(),
                                         f"revision {seen['revision']}", f"revision {current['revision']}", lineterm=""))
    return render(request, "stale.html", status=409, caller=caller, current=current, message=exc.message, diff=diff)


def _expected(form) -> Expected:
    """The revision and digest the page showed (hidden fields of every decision form): a form
    without them is from a page that did not show what it decides on, and is refused."""
    revision, digest = form.get("revision"), form.get("digest")
    if not isinstance(revision, str) or not revision.isdigit() or len(revision) > 10 or not isinstance(digest, str) \
            or not re.fullmatch(DIGEST_PATTERN, digest):
        raise ServiceError(400, "digest_required", "the form does not say which revision it decides on: reload the "
                                                   "submission's page and decide again")
    return Expected(int(revision), digest)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _with_signin(handler):
    """Send an unauthenticated browser to the sign-in page."""

    @functools.wraps(handler)
    async def wrapper(request: Request, *args, **kwargs):
        try:
            return await handler(request, *args, **kwargs)
        except _SignIn:
            return redirect("/signin")

    return wrapper


# --- signing in ------------------------------------------------------------------------------------------


@router.get("/")
async def home(request: Request):
    return redirect("/portal" if session_caller(request) else "/signin")


@router.get("/signin")
async def signin_page(request: Request, failed: Optional[str] = None):
    svc = _svc(request)
    csrf = secrets.token_urlsafe(32)
    response = render(request, "signin.html", signin_csrf=csrf, failed=bool(failed))
    response.set_cookie(cookie_names(svc)[1], csrf, httponly=True, samesite="strict",
                        secure=svc.config.secure_cookies, path="/")
    return response


@router.post("/signin")
async def signin(request: Request):
    svc = _svc(request)
    ip = client_address(request, svc.config.trust_proxy_headers)
    request.app.state.signin_limiter.take((ip, "signin"))
    form = await request.form(max_part_size=4096)
    posted, cookie = form.get("csrf_token"), request.cookies.get(cookie_names(svc)[1])
    if not auth.same(posted if isinstance(posted, str) else None, cookie):
        raise forbidden("the sign-in form's CSRF token is missing or wrong: reload the page")
    token = form.get("token")
    valid = auth.valid_token(svc.Session, token.strip()) if isinstance(token, str) else None
    if valid is None or svc.directories.principal(valid.principal) is None:
        return redirect("/signin?failed=1")
    return _start_session(svc, valid.principal, "token", valid)


def _start_session(svc: Service, pid: str, how: str, token: auth.ValidToken | None = None) -> Response:
    secret, _ = auth.open_session(svc.Session, pid, how, svc.config.session_hours, token)
    response = redirect("/portal")
    names = cookie_names(svc)
    response.set_cookie(names[0], secret, httponly=True, samesite="lax", secure=svc.config.secure_cookies,
                        path="/", max_age=int(svc.config.session_hours * 3600))
    response.delete_cookie(names[1], path="/", secure=svc.config.secure_cookies, httponly=True)
    return response


@router.post("/signout")
@_with_signin
async def signout(request: Request):
    svc = _svc(request)
    caller = require_caller(request)
    await form_of(request, caller)
    auth.close_session(svc.Session, request.cookies.get(cookie_names(svc)[0]))
    response = redirect("/signin")
    response.delete_cookie(cookie_names(svc)[0], path="/", secure=svc.config.secure_cookies, httponly=True)
    return response


def _callback_url(request: Request, svc: Service) -> str:
    if svc.config.public_url:
        return svc.config.public_url.rstrip("/") + "/auth/oidc/callback"
    return str(request.url_for("oidc_callback"))


@router.get("/auth/oidc/login")
async def oidc_login(request: Request):
    svc = _svc(request)
    if svc.oidc is None:
        raise ServiceError(404, "not_found", "single sign-on is not configured")
    ip = client_address(request, svc.config.trust_proxy_headers)
    request.app.state.signin_limiter.take((ip, "oidc"))
    url, state = svc.oidc.start(_callback_url(request, svc))
    response = redirect(url)
    # Bind the authorization request to this browser (RFC 6749 §10.12): a callback carrying
    # someone else's code and state (login CSRF) finds no matching cookie. SameSite=Lax: the
    # callback is a top-level navigation from the provider, which Lax cookies accompany.
    response.set_cookie(OIDC_COOKIE, auth.digest(state), max_age=600, httponly=True, samesite="lax",
                        secure=svc.config.secure_cookies, path="/auth/oidc/")
    return response


@router.get("/auth/oidc/callback", name="oidc_callback")
async def oidc_callback(request: Request, code: Optional[str] = None, state: Optional[str] = None,
                        iss: Optional[str] = None, error: Optional[str] = None):
    svc = _svc(request)
    if svc.oidc is None:
        raise ServiceError(404, "not_found", "single sign-on is not configured")
    ip = client_address(request, svc.config.trust_proxy_headers)
    request.app.state.signin_limiter.take((ip, "oidc"))
    if error or not code or not state:
        raise ServiceError(401, "unauthenticated", f"the identity provider did not sign you in ({(error or 'no code')[:60]})")
    if not auth.same(request.cookies.get(OIDC_COOKIE), auth.digest(state)):
        raise ServiceError(401, "unauthenticated", "this sign-in was not started in this browser; start again")
    claims = svc.oidc.finish(code=code, state=state, redirect_uri=_callback_url(request, svc), iss=iss)
    principal = svc.directories.require().by_subject.get(str(claims.get("sub")))
    if principal is None:
        raise ServiceError(403, "unknown_subject", "you signed in, but no principal of tenants/principals.yaml "
                                                   "declares your OIDC subject (oidcSubjects)")
    return _start_session(svc, principal.id, "oidc")


# --- pages -------------------------------------------------------------------------------------------------


@router.get("/portal")
@_with_signin
async def dashboard(request: Request):
    caller = require_caller(request)
    svc = _svc(request)
    return render(request, "dashboard.html", caller=caller, submissions=await run_in_threadpool(svc.list, caller))


@router.get("/portal/submissions/new")
@_with_signin
async def new_submission(request: Request):
    caller = require_caller(request)
    if caller.role != "vendor":
        raise forbidden("only vendor principals submit requests")
    return render(request, "new.html", caller=caller)


@router.post("/portal/submissions")
@_with_signin
async def create_submission(request: Request):
    caller = require_caller(request)
    form = await form_of(request, caller)
    sub = await run_in_threadpool(_svc(request).submit, caller, await request_text(form))
    return redirect(f"/portal/submissions/{sub.id}")


@router.get("/portal/submissions/{sid}")
@_with_signin
async def submission_page(request: Request, sid: int):
    caller = require_caller(request)
    svc = _svc(request)
    sub = await run_in_threadpool(svc.get, caller, sid)
    rev = sub.latest
    result = rev.result
    by_line: dict[int, list[dict]] = {}
    for d in result["diagnostics"]:
        by_line.setdefault(d["line"], []).append(d)
    lines = rev.yaml_text.split("\n")
    summary = await run_in_threadpool(svc.summary, caller, sid) if rev.valid else None
    mine = []
    if caller.role == "municipality":
        mine = [c for c in sub.codes if c in caller.principal.municipalities]
    return render(request, "submission.html", caller=caller, sub=sub, rev=rev, result=result, lines=lines,
                  by_line=by_line, summary=summary, timeline=svc.timeline(sub), my_codes=mine,
                  can_approve=caller.role in ("municipality", "platform") and sub.status == "submitted",
                  is_owner=caller.role == "vendor" and sub.vendor == caller.principal.vendor)


async def _action(request: Request, sid: int, do) -> Response:
    caller = require_caller(request)
    form = await form_of(request, caller)
    await do(_svc(request), caller, form)
    return redirect(f"/portal/submissions/{sid}")


def _text(form, name: str) -> str:
    value = form.get(name)
    return value.replace("\r\n", "\n") if isinstance(value, str) else ""


@router.post("/portal/submissions/{sid}/revise")
@_with_signin
async def revise(request: Request, sid: int):
    async def do(svc, caller, form):
        await run_in_threadpool(svc.revise, caller, sid, await request_text(form))
    return await _action(request, sid, do)


@router.post("/portal/submissions/{sid}/withdraw")
@_with_signin
async def withdraw(request: Request, sid: int):
    async def do(svc, caller, form):
        await run_in_threadpool(svc.withdraw, caller, sid)
    return await _action(request, sid, do)


@router.post("/portal/submissions/{sid}/approve")
@_with_signin
async def approve(request: Request, sid: int):
    async def do(svc, caller, form):
        signature = _text(form, "signature").strip() or None
        expected = _expected(form)
        await run_in_threadpool(lambda: svc.approve(caller, sid, municipality=_text(form, "municipality") or None,
                                                    signature=signature, comment=_text(form, "comment"),
                                                    expected=expected))
    return await _action(request, sid, do)


@router.post("/portal/submissions/{sid}/reject")
@_with_signin
async def reject(request: Request, sid: int):
    async def do(svc, caller, form):
        await run_in_threadpool(svc.reject, caller, sid, _text(form, "comment"), _expected(form))
    return await _action(request, sid, do)


@router.post("/portal/submissions/{sid}/apply")
@_with_signin
async def apply(request: Request, sid: int):
    async def do(svc, caller, form):
        await run_in_threadpool(svc.apply, caller, sid, _expected(form))
    return await _action(request, sid, do)


@router.post("/portal/submissions/{sid}/comment")
@_with_signin
async def comment(request: Request, sid: int):
    async def do(svc, caller, form):
        await run_in_threadpool(svc.comment, caller, sid, _text(form, "comment"))
    return await _action(request, sid, do)


@router.post("/portal/submissions/{sid}/preflight")
@_with_signin
async def preflight(request: Request, sid: int):
    caller = require_caller(request)
    await form_of(request, caller)
    svc = _svc(request)
    result = await run_in_threadpool(svc.preflight, caller, sid)
    return render(request, "preflight.html", caller=caller, sub=await run_in_threadpool(svc.get, caller, sid),
                  result=result)


@router.get("/portal/submissions/{sid}/statement")
@_with_signin
async def statement(request: Request, sid: int, municipality: Optional[str] = None):
    caller = require_caller(request)
    body = await run_in_threadpool(_svc(request).statement, caller, sid, municipality)
    return Response(body, media_type="text/plain; charset=utf-8")


@router.get("/portal/tenants")
@_with_signin
async def tenants(request: Request):
    caller = require_caller(request)
    return render(request, "tenants.html", caller=caller, tenants=await run_in_threadpool(_svc(request).tenants, caller))


@router.get("/portal/findings")
@_with_signin
async def findings(request: Request):
    caller = require_caller(request)
    return render(request, "findings.html", caller=caller, result=await run_in_threadpool(_svc(request).findings, caller))


@router.get("/portal/history")
@_with_signin
async def history(request: Request):
    caller = require_caller(request)
    return render(request, "history.html", caller=caller, proof=await run_in_threadpool(_svc(request).history, caller))
