"""The service's state: migrations run through the Alembic API, twice is a no-op, the schema is
the models' schema (no drift between models and migrations)."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from govcloud.service import db, migrations


def test_migrations_reach_head_and_match_the_models(database_url) -> None:
    engine = db.make_engine(database_url)
    try:
        migrations.upgrade(engine)
        migrations.upgrade(engine)          # a restart: nothing to do
        assert migrations.current(engine) == migrations.head()
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.Base.metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_timestamps_come_back_in_utc(database_url) -> None:
    engine = db.make_engine(database_url)
    try:
        migrations.upgrade(engine)
        Session = db.session_factory(engine)
        when = dt.datetime(2026, 5, 1, 9, 0, tzinfo=dt.timezone.utc)
        with Session.begin() as s:
            s.add(db.ApiToken(token_hash="a" * 64, hint="gcp_x", principal="p", name="n", created_by="q",
                              expires_at=when))
        with Session() as s:
            token = s.query(db.ApiToken).one()
            assert token.expires_at == when and token.expires_at.tzinfo is not None
    finally:
        engine.dispose()


def test_the_wheel_carries_templates_styles_and_migrations(tmp_path) -> None:
    import subprocess
    import sys
    import zipfile

    from tests.conftest import REPO

    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path),
                    str(REPO)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("govcloud-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for asset in ("templates/base.html", "templates/submission.html", "static/portal.css", "migrations/env.py",
                  "migrations/script.py.mako", "migrations/versions/0001_initial.py"):
        assert f"govcloud/service/{asset}" in names


def _migrate(url: str) -> str:
    from govcloud.service import db, migrations

    engine = db.make_engine(url)
    try:
        migrations.upgrade(engine)
        return migrations.current(engine)
    finally:
        engine.dispose()


def test_processes_starting_together_on_a_fresh_database_migrate_once(database_url, tmp_path) -> None:
    from concurrent.futures import ProcessPoolExecutor

    if database_url.startswith("sqlite"):
        urls = [f"sqlite:///{tmp_path / f'fresh-{i}.db'}" for i in range(3)]
    else:
        urls = [database_url]
    with ProcessPoolExecutor(4) as pool:
        for url in urls:
            assert list(pool.map(_migrate, [url] * 4)) == [migrations.head()] * 4


def test_the_sign_in_budget_is_shared_by_every_process(database_url) -> None:
    """Two limiters on one database (two service processes) draw from one bucket: the budget for
    guessing tokens does not grow with the number of processes."""
    from govcloud.service.config import RateLimit
    from govcloud.service.errors import ServiceError
    from govcloud.service.middleware import SharedRateLimiter

    from govcloud.service.app import open_database

    engine, Session = open_database(database_url)
    now = [1_000_000.0]
    one = SharedRateLimiter(RateLimit(3, 0.5), Session, clock=lambda: now[0])
    two = SharedRateLimiter(RateLimit(3, 0.5), Session, clock=lambda: now[0])
    one.take(("203.0.113.9", "signin"))
    two.take(("203.0.113.9", "signin"))
    one.take(("203.0.113.9", "signin"))
    with pytest.raises(ServiceError) as refused:
        two.take(("203.0.113.9", "signin"))
    assert refused.value.status == 429 and refused.value.headers["Retry-After"] == "2"
    with pytest.raises(ServiceError):
        one.check(("203.0.113.9", "signin"))
    two.take(("198.51.100.7", "signin"))             # another client has its own bucket
    now[0] += 2.0                                     # one token back
    one.take(("203.0.113.9", "signin"))
    with pytest.raises(ServiceError):
        two.take(("203.0.113.9", "signin"))
    engine.dispose()
