"""``govcloud serve``: the onboarding service (API and portal), its access tokens and its key."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Literal, Optional

import typer

from govcloud.cli import bad_usage, console, err_console, report_errors, workspace
from govcloud.diagnostics import UsageError

serve_app = typer.Typer(help="The onboarding service: JSON API under /api/v1 and the web portal.",
                        invoke_without_command=True)
token_app = typer.Typer(help="Personal access tokens of the service (issued by a platform principal).",
                        no_args_is_help=True)
key_app = typer.Typer(help="The service's Ed25519 signing key.", no_args_is_help=True)
outbox_app = typer.Typer(help="The notification outbox: what the service announced, and its delivery to a webhook.",
                         no_args_is_help=True)
serve_app.add_typer(token_app, name="token")
serve_app.add_typer(key_app, name="key")
serve_app.add_typer(outbox_app, name="outbox")

LOOPBACK = ("127.0.0.1", "localhost", "::1")
CHALLENGE_NAMESPACE = "govcloud-service-token"


def _fail(message: str) -> None:
    err_console.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(1)


@serve_app.callback()
def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8080, "--port", min=1, max=65535, help="Port to listen on."),
    database_url: Optional[str] = typer.Option(None, "--database-url", envvar="GOVCLOUD_DATABASE_URL", show_envvar=False,
                                               help="SQLAlchemy URL of the service's database (default: SQLite .govcloud/service.db in the workspace; PostgreSQL: postgresql+psycopg://USER@HOST/DB). Also $GOVCLOUD_DATABASE_URL."),
    service_key: Optional[Path] = typer.Option(None, "--service-key", help="The service's Ed25519 private key (default .govcloud/service_ed25519 in the workspace)."),
    service_key_id: Optional[str] = typer.Option(None, "--service-key-id", help="The id under which spec.serviceKeys declares the key (default: whichever declares it)."),
    oidc_issuer: Optional[str] = typer.Option(None, "--oidc-issuer", help="OpenID Provider issuer URL; enables single sign-on and OIDC bearer tokens."),
    oidc_client_id: Optional[str] = typer.Option(None, "--oidc-client-id", help="The portal's OIDC client id."),
    oidc_client_secret: Optional[str] = typer.Option(None, "--oidc-client-secret", envvar="GOVCLOUD_OIDC_CLIENT_SECRET", show_envvar=False,
                                                     help="The portal's OIDC client secret (prefer $GOVCLOUD_OIDC_CLIENT_SECRET: a command line is visible to other users)."),
    oidc_audience: Optional[str] = typer.Option(None, "--oidc-audience", help="The aud claim API access tokens must carry (without it, OIDC bearer tokens are refused)."),
    oidc_token_types: list[str] = typer.Option(["at+jwt", "application/at+jwt"], "--oidc-access-token-type", help="A JWT typ header accepted on API access tokens (repeatable; RFC 9068 says at+jwt; add JWT for providers that type access tokens JWT)."),
    public_url: Optional[str] = typer.Option(None, "--public-url", help="The URL users reach the service at (behind a reverse proxy), e.g. https://onboarding.example.jp."),
    secure_cookies: Literal["auto", "on", "off"] = typer.Option("auto", "--secure-cookies", help="Secure cookies: on, off, or auto (off only when listening on loopback without an https --public-url)."),
    trust_proxy: bool = typer.Option(False, "--trust-proxy", help="Take the client address from X-Forwarded-For (only behind your own reverse proxy)."),
    api_rate: float = typer.Option(20.0, "--api-rate", min=0.1, help="API requests per second allowed per client address and principal (bursts of six seconds' worth)."),
) -> None:
    """Run the onboarding service (uvicorn) on the current workspace."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = {"database_url": database_url}
        return
    import logging

    import uvicorn

    from govcloud.service.app import create_app
    from govcloud.service.config import OidcSettings, RateLimit, ServiceConfig
    from govcloud.service.core import StartupError

    ws = workspace()
    oidc = None
    given = [oidc_issuer, oidc_client_id, oidc_client_secret]
    # The secret alone (an exported GOVCLOUD_OIDC_CLIENT_SECRET) does not switch OIDC on.
    if (oidc_issuer or oidc_client_id) and not all(given):
        bad_usage("single sign-on needs --oidc-issuer, --oidc-client-id and --oidc-client-secret "
                  "($GOVCLOUD_OIDC_CLIENT_SECRET) together")
    if oidc_audience and not oidc_issuer:
        bad_usage("--oidc-audience goes with --oidc-issuer")
    if public_url and not public_url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        bad_usage("--public-url must be an https:// URL (or http://127.0.0.1 for development)")
    try:
        if oidc_issuer:
            oidc = OidcSettings(oidc_issuer, oidc_client_id, oidc_client_secret, oidc_audience,
                                access_token_types=tuple(oidc_token_types))
    except ValueError as exc:
        bad_usage(str(exc))
    if secure_cookies == "auto":
        secure = not (host in LOOPBACK and not (public_url or "").startswith("https://"))
    else:
        secure = secure_cookies == "on"
    config = ServiceConfig(workspace=ws, database_url=database_url or ServiceConfig.default_database_url(ws),
                           service_key=service_key or ServiceConfig.default_service_key(ws),
                           service_key_id=service_key_id, oidc=oidc, public_url=public_url,
                           secure_cookies=secure, trust_proxy_headers=trust_proxy,
                           api_rate=RateLimit(burst=max(1.0, 6 * api_rate), per_second=api_rate))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)   # its request lines name URLs; keep logs to ours
    try:
        app = create_app(config)
    except StartupError as exc:
        _fail(str(exc))
    svc = app.state.service
    base = public_url or f"http://{host}:{port}"
    console.print(f"govcloud onboarding service on {base} (workspace {ws.root}, service key "
                  f"{svc.service_key_id} {svc.service_key.public.fingerprint}, secure cookies "
                  f"{'on' if secure else 'off'})", highlight=False)
    console.print(f"  portal:  {base}/signin  — paste a token from `govcloud serve token create --principal ID "
                  f"--name NAME --key PLATFORM_KEY`{', or sign in with OIDC' if oidc else ''}", highlight=False)
    console.print(f"  API:     {base}/api/v1 (Authorization: Bearer TOKEN), OpenAPI {base}/api/v1/openapi.json",
                  highlight=False)
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="info", proxy_headers=trust_proxy,
                forwarded_allow_ips="*" if trust_proxy else None, server_header=False)


# --- tokens ---------------------------------------------------------------------------------------------------


def _database(ctx: typer.Context):
    from govcloud.service.app import open_database
    from govcloud.service.config import ServiceConfig
    from govcloud.service.core import StartupError

    ws = workspace()
    url = (ctx.obj or {}).get("database_url") or ServiceConfig.default_database_url(ws)
    try:
        return ws, open_database(url)
    except StartupError as exc:
        _fail(str(exc))


def _platform_signer(ws, key_path: Path):
    """The platform principal who holds ``key_path``: proven by signing a fresh challenge with the
    key and verifying it against the key the recorded Principals document declares for them."""
    from govcloud import sshsig
    from govcloud.app import onboarding
    from govcloud.service.auth import Directories
    from govcloud.service.errors import ServiceError

    key = onboarding.load_key(key_path)
    try:
        directory = Directories(ws).require()
    except ServiceError as exc:
        raise UsageError(exc.message) from None
    p = directory.by_key.get(key.public.blob)
    if p is None:
        raise UsageError(f"key {key.public.fingerprint} is not declared for any principal in the recorded "
                         "tenants/principals.yaml")
    if p.role != "platform":
        raise UsageError(f"{p.id} is a {p.role} principal: only platform principals manage access tokens")
    challenge = secrets.token_bytes(32)
    declared = next(k for k in directory.keys_of(p.id) if k == key.public)
    sshsig.verify(challenge, sshsig.sign(challenge, key, CHALLENGE_NAMESPACE), CHALLENGE_NAMESPACE, declared)
    return p, directory


@token_app.command("create")
@report_errors
def token_create(
    ctx: typer.Context,
    principal: str = typer.Option(..., "--principal", help="The principal id the token signs in as."),
    name: str = typer.Option(..., "--name", help="What the token is for (shown in token list)."),
    expires_days: int = typer.Option(30, "--expires-days", min=1, max=366, help="Days until the token expires (1-366)."),
    key: Path = typer.Option(..., "--key", help="Your SSH private key: you must be a platform principal."),
) -> None:
    """Issue a personal access token; it is printed once and stored only as a hash."""
    from govcloud.service import auth

    ws, (engine, Session) = _database(ctx)
    try:
        issuer, directory = _platform_signer(ws, key)
        if principal not in directory.by_id:
            raise UsageError(f"no principal {principal!r} is declared in the recorded tenants/principals.yaml")
        if not name.strip() or len(name) > 100:
            raise UsageError("--name is 1 to 100 characters")
        secret, row = auth.create_token(Session, principal=principal, name=name, created_by=issuer.id, days=expires_days)
    finally:
        engine.dispose()
    err_console.print(f"token {row.id} for {principal} ({name}), issued by {issuer.id}, expires "
                      f"{row.expires_at:%Y-%m-%d %H:%M} UTC. It is shown once; store it now:",
                      markup=False, highlight=False)
    typer.echo(secret)


@token_app.command("list")
@report_errors
def token_list(ctx: typer.Context,
               fmt: Literal["table", "json"] = typer.Option("table", "--format", help="table or json.")) -> None:
    """List tokens (never their values)."""
    from rich.table import Table

    from govcloud.service import auth

    _, (engine, Session) = _database(ctx)
    try:
        rows = auth.list_tokens(Session)
    finally:
        engine.dispose()
    data = [{"id": r.id, "principal": r.principal, "name": r.name, "hint": r.hint + "…", "createdBy": r.created_by,
             "createdAt": r.created_at.isoformat(), "expiresAt": r.expires_at.isoformat(),
             "revokedAt": r.revoked_at.isoformat() if r.revoked_at else None,
             "lastUsedAt": r.last_used_at.isoformat() if r.last_used_at else None} for r in rows]
    if fmt == "json":
        console.print_json(json.dumps(data, ensure_ascii=False))
        return
    table = Table(title=f"{len(rows)} tokens")
    for col in ("id", "principal", "name", "token", "expires", "revoked", "last used"):
        table.add_column(col)
    for d in data:
        table.add_row(str(d["id"]), d["principal"], d["name"], d["hint"], d["expiresAt"][:16], (d["revokedAt"] or "-")[:16],
                      (d["lastUsedAt"] or "-")[:16])
    console.print(table)


@token_app.command("revoke")
@report_errors
def token_revoke(
    ctx: typer.Context,
    token_id: int = typer.Argument(..., help="The token's id (see token list)."),
    key: Path = typer.Option(..., "--key", help="Your SSH private key: you must be a platform principal."),
) -> None:
    """Revoke a token at once (every service process refuses it from the next request)."""
    from govcloud.service import auth

    ws, (engine, Session) = _database(ctx)
    try:
        issuer, _ = _platform_signer(ws, key)
        row = auth.revoke_token(Session, token_id)
    finally:
        engine.dispose()
    if row is None:
        raise UsageError(f"no token {token_id}; see govcloud serve token list")
    console.print(f"token {token_id} ({row.principal}, {row.name}) revoked by {issuer.id}", highlight=False)


# --- the notification outbox ---------------------------------------------------------------------------------------


def _directory(ws):
    from govcloud.app import onboarding
    from govcloud.diagnostics import DiagnosticError

    try:
        return onboarding.current_principals(ws)
    except DiagnosticError:
        raise UsageError("the workspace history does not verify (govcloud history verify): recipients cannot be "
                         "resolved") from None


@outbox_app.command("list")
@report_errors
def outbox_list(ctx: typer.Context, fmt: Literal["table", "json"] = typer.Option("table", "--format", help="table or json.")) -> None:
    """The notifications not delivered yet, oldest first, with their recipients' addresses."""
    from govcloud.service import outbox

    ws, (engine, Session) = _database(ctx)
    try:
        directory = _directory(ws)
        data = [outbox.message_json(m, directory) for m in outbox.pending(Session)]
    finally:
        engine.dispose()
    if fmt == "json":
        console.print_json(json.dumps(data, ensure_ascii=False))
        return
    for d in data:
        console.print(f"{d['id']}  {d['createdAt'][:16]}  {d['event']}  to {', '.join(d['to']) or '(nobody)'}",
                      highlight=False)
    console.print(f"{len(data)} pending", highlight=False)


@outbox_app.command("deliver")
@report_errors
def outbox_deliver(
    ctx: typer.Context,
    webhook: str = typer.Option(..., "--webhook", envvar="GOVCLOUD_OUTBOX_WEBHOOK", show_envvar=False,
                                help="URL that receives each notification as JSON (POST); https, or http on 127.0.0.1."),
    timeout: float = typer.Option(10.0, "--timeout", min=0.1, max=120, help="Seconds to wait for the webhook per message."),
) -> None:
    """POST every pending notification to the webhook, oldest first, and mark it delivered on a 2xx
    answer (at least once: receivers de-duplicate by id, also sent as Idempotency-Key). Stops at
    the first failure, exit 1, so that order is kept; run it again (e.g. from a timer)."""
    import httpx

    from govcloud.service import outbox

    if not webhook.startswith(("https://", "http://127.0.0.1", "http://localhost", "http://[::1]")):
        bad_usage("--webhook must be an https:// URL (or http on this machine)")
    ws, (engine, Session) = _database(ctx)
    try:
        directory = _directory(ws)
        with httpx.Client(timeout=timeout, follow_redirects=False) as http:
            result = outbox.deliver(Session, directory, webhook, http=http)
    finally:
        engine.dispose()
    console.print(f"delivered {result.sent}, {result.pending} pending", highlight=False)
    if result.failure:
        raise UsageError(f"delivery stopped at {result.failure}")


# --- the service key ---------------------------------------------------------------------------------------------


@key_app.command("create")
@report_errors
def key_create(
    out: Optional[Path] = typer.Option(None, "--out", help="Where to write the private key (default .govcloud/service_ed25519 in the workspace)."),
    key_id: str = typer.Option("onboarding", "--id", help="The id to declare it under in spec.serviceKeys."),
) -> None:
    """Generate the service's Ed25519 key (private half readable by you only) and print the
    public line to declare under spec.serviceKeys."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from govcloud.service.config import ServiceConfig

    path = out or ServiceConfig.default_service_key(workspace())
    if path.exists():
        raise UsageError(f"{path} exists; it is the service's key — move it away first if you really mean to replace it")
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(private)
    err_console.print(f"wrote {path} (mode 600). Declare it in tenants/principals.yaml, then record the change "
                      "(govcloud principals record --key PLATFORM_KEY):", markup=False, highlight=False)
    typer.echo(f"  serviceKeys:\n    - id: {key_id}\n      publicKey: {public} govcloud-service")


@key_app.command("show")
@report_errors
def key_show(
    service_key: Optional[Path] = typer.Option(None, "--service-key", help="The private key (default .govcloud/service_ed25519 in the workspace)."),
) -> None:
    """Print the public line of the service's key and whether the recorded principals declare it."""
    from govcloud.app import onboarding
    from govcloud.service.auth import Directories
    from govcloud.service.config import ServiceConfig

    ws = workspace()
    key = onboarding.load_key(service_key or ServiceConfig.default_service_key(ws))
    typer.echo(key.public.openssh)
    directory = Directories(ws).current()
    declared = directory.service_key_id(key.public) if directory else None
    err_console.print(f"declared as service key {declared!r}" if declared else
                      "not declared under spec.serviceKeys of the recorded principals: the service will not start",
                      markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(serve_app, name="serve")
