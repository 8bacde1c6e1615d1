"""The onboarding service (``govcloud serve``): a JSON API under ``/api/v1`` and a server-rendered
portal over the same application calls as the command line (:mod:`govcloud.app.onboarding`).

One module per responsibility: :mod:`.config` (settings), :mod:`.db` (the service's own state,
SQLAlchemy 2) with :mod:`.migrations` (Alembic, run at start-up), :mod:`.auth` (tokens, sessions,
OIDC), :mod:`.middleware` (body size limit, rate limits, access log, CSRF helpers),
:mod:`.core` (submissions and who may see and do what: shared by both adapters), :mod:`.api` and
:mod:`.portal` (the two doors), :mod:`.i18n` (Japanese and English texts), :mod:`.app` (wiring).

The workspace stays the source of truth for documents, approvals, history and tenants: it is
written only through :mod:`govcloud.app.onboarding`, under the workspace lock. The database holds
what the workspace has no place for: tokens, sessions, submissions and their revisions, comments,
decisions and a notification outbox.
"""
