"""Alembic migrations of the service's database, shipped inside the package and run through the
Alembic API (``alembic.command.upgrade``) when the service or a ``serve token`` command starts.
New revision: add a file under ``versions/`` (``down_revision`` = the previous head)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

HERE = Path(__file__).resolve().parent


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    return cfg


def head() -> str:
    return ScriptDirectory.from_config(_config()).get_current_head()


def current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


# Any fixed number: the PostgreSQL advisory lock that serialises migrations across processes.
ADVISORY_LOCK = 0x67766373


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest schema (a no-op when it is already there). Two processes
    starting together on a fresh database must not both create the tables: PostgreSQL takes a
    transaction-scoped advisory lock first, SQLite a lock file next to the database; the second
    process then finds the schema at head and does nothing."""
    cfg = _config()
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        from filelock import FileLock

        with FileLock(f"{engine.url.database}.migrate.lock", timeout=120):
            _run(cfg, engine)
        return
    _run(cfg, engine)


def _run(cfg: Config, engine: Engine) -> None:
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK})")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
