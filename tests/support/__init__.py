"""Real test infrastructure shared by the suites: a PostgreSQL server (postgres.py), an OpenID
Provider (oidc.py) and network helpers (net.py). Registered as pytest plugins in tests/conftest.py."""
