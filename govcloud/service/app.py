"""Wiring: the FastAPI application of one service process.

:func:`create_app` migrates the database, loads the service key (refusing to start unless the
recorded Principals document declares it), and mounts the API, the portal and the protections of
:mod:`.middleware`. Several processes may serve one workspace and one database: everything they
share lives in the workspace (under its lock) or the database.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from govcloud.diagnostics import DiagnosticError, UsageError
from govcloud.service import db, migrations
from govcloud.service.auth import Directories, OidcClient
from govcloud.service.config import ServiceConfig, redact_url
from govcloud.service.core import Service, StartupError, load_service_key
from govcloud.service.errors import ServiceError, Stale
from govcloud.service.middleware import BodyLimit, RateLimiter, SharedRateLimiter, SecurityHeaders

log = logging.getLogger("govcloud.service")
HERE = Path(__file__).resolve().parent


def open_database(url: str):
    """Engine and session factory, migrated to the newest schema."""
    try:
        engine = db.make_engine(url)
        migrations.upgrade(engine)
    except StartupError:
        raise
    except Exception as exc:  # noqa: BLE001 - any driver error: say which database, without its password
        raise StartupError(f"cannot open the database {redact_url(url)}: {type(exc).__name__}: "
                           f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
    return engine, db.session_factory(engine)


def build_service(config: ServiceConfig) -> Service:
    if not config.workspace.tenants_dir.is_dir():
        raise StartupError(f"{config.workspace.root} is not a govcloud workspace (no tenants/ folder)")
    config.workspace.recover()
    directories = Directories(config.workspace)
    key, key_id = load_service_key(config, directories)
    engine, Session = open_database(config.database_url)
    svc = Service(config, Session, directories, key, key_id)
    svc.engine = engine
    if config.oidc is not None:
        svc.oidc = OidcClient(config.oidc, Session)
    return svc


def create_app(config: ServiceConfig) -> FastAPI:
    from govcloud.service import api, portal

    svc = build_service(config)
    app = FastAPI(title="govcloud onboarding service", version="1", openapi_url="/api/v1/openapi.json",
                  # No docs page: FastAPI's loads Swagger UI from a CDN, and the service serves no
                  # external assets. The OpenAPI document is enough for any viewer or generator.
                  docs_url=None, redoc_url=None,
                  description="Vendors submit tenant requests; municipality and platform approvers sign "
                              "approvals; the platform applies. Bearer authentication (personal access "
                              "token or OIDC access token).")
    app.state.service = svc
    # Shared by every process (the budget for guessing tokens); the per-request API limit stays
    # in memory, per process (a database write on every request would cost more than it guards).
    app.state.signin_limiter = SharedRateLimiter(config.signin_rate, svc.Session)
    app.state.api_limiter = RateLimiter(config.api_rate)
    app.include_router(api.router)
    app.include_router(portal.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    def wants_html(request: Request) -> bool:
        return not request.url.path.startswith("/api/")

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError):
        if wants_html(request):
            if isinstance(exc, Stale) and exc.submission is not None:
                return portal.stale_page(request, exc)
            return portal.error_page(request, exc.status, exc.message, exc.diagnostics, exc.headers)
        return JSONResponse(exc.as_dict(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(DiagnosticError)
    async def _diagnostics(request: Request, exc: DiagnosticError):
        err = ServiceError(422, "invalid", f"{len(exc.diagnostics)} problem(s)", list(exc.diagnostics))
        return await _service_error(request, err)

    @app.exception_handler(UsageError)
    async def _refused(request: Request, exc: UsageError):
        return await _service_error(request, ServiceError(409, "refused", str(exc)))

    @app.exception_handler(IntegrityError)
    async def _race(request: Request, exc: IntegrityError):
        # Two requests raced for the same row (a revision number): the loser is told, not a 500.
        return await _service_error(request, ServiceError(409, "conflict", "a concurrent change won; reload and retry"))

    @app.exception_handler(StaleDataError)
    async def _lost_race(request: Request, exc: StaleDataError):
        # A submission's versioned UPDATE matched no row: another transition committed first.
        return await _service_error(request, ServiceError(409, "conflict", "a concurrent change won; reload and retry"))

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError):
        # The input is echoed by FastAPI's default; leave it out (it may carry a signature or token).
        details = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        if wants_html(request):
            return portal.error_page(request, 400, "; ".join(f"{'.'.join(map(str, d['loc']))}: {d['msg']}" for d in details))
        return JSONResponse({"error": "bad_request", "message": "the request does not fit the API", "details": details},
                            status_code=422)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception):
        incident = uuid.uuid4().hex[:12]
        log.error("internal error %s on %s %s: %s", incident, request.method, request.url.path, type(exc).__name__,
                  exc_info=exc)
        if wants_html(request):
            return portal.error_page(request, 500, f"internal error (incident {incident})")
        return JSONResponse({"error": "internal", "message": f"internal error (incident {incident})"}, status_code=500)

    app.add_middleware(BodyLimit, limit=config.body_limit)
    app.add_middleware(SecurityHeaders, hsts=config.secure_cookies)
    return app
