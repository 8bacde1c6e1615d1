# Two commands set everything up on a fresh machine (both idempotent):
#   make demo   create .venv, install govcloud, run the main job on the sample workspace
#   make test   same set-up, then the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BOOTSTRAP_STAMP := $(VENV)/.bootstrapped
# checkov pins old versions of packages Pulumi needs newer: it gets its own environment and runs as a tool.
CHECKOV_VENV  := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
# Every environment installs exactly a lock with hashes (requirements/*.txt, written by uv from
# pyproject.toml and requirements/*.in): a green run does not depend on the day the registry was asked.
LOCKS := requirements/bootstrap.txt requirements/main.txt requirements/checkov.txt
# Hash-checking mode (pip's --require-hashes) and no resolution of our own (--no-deps: the lock is the
# whole set; `pip check` afterwards proves it is consistent).
PIP_LOCKED = -m pip install --quiet --require-hashes --no-deps --only-binary :all: -r
# pip names every configured extra index that does not exist on this machine; keep its exit status.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
QUIET_PIP := 2>&1 | sed -u '/^WARNING: Location .* is ignored/d'

UV_COMPILE = $(BIN)/uv pip compile --quiet --generate-hashes --universal --python-version 3.11

.PHONY: demo test test-all setup lock upgrade clean schemas seed bench imports browser service-deps

# The real YAML language server (npm) tests the published JSON Schemas as editors use them.
EDITOR_DIR   := tests/editor
EDITOR_STAMP := $(EDITOR_DIR)/node_modules/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# The certified OpenID Provider (npm oidc-provider) that the service tests sign in against.
OIDC_DIR   := tests/oidc
OIDC_STAMP := $(OIDC_DIR)/node_modules/.installed

setup: $(STAMP) $(CHECKOV_STAMP)

$(EDITOR_STAMP): $(EDITOR_DIR)/package.json $(EDITOR_DIR)/package-lock.json
	command -v npm >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq nodejs npm; }
	cd $(EDITOR_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $(EDITOR_STAMP)

$(OIDC_STAMP): $(OIDC_DIR)/package.json $(OIDC_DIR)/package-lock.json
	command -v npm >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq nodejs npm; }
	cd $(OIDC_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $(OIDC_STAMP)

$(CHECKOV_STAMP): requirements/checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python $(PIP_LOCKED) requirements/checkov.txt $(QUIET_PIP)
	$(CHECKOV_VENV)/bin/python -m pip check
	$(CHECKOV_VENV)/bin/checkov --version
	touch $(CHECKOV_STAMP)

# The project itself last, as an editable install without dependencies and without build isolation
# (an isolated build would fetch an unlocked setuptools): everything it needs came from the lock.
$(BOOTSTRAP_STAMP): requirements/bootstrap.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python $(PIP_LOCKED) requirements/bootstrap.txt $(QUIET_PIP)
	touch $(BOOTSTRAP_STAMP)

$(STAMP): $(BOOTSTRAP_STAMP) pyproject.toml requirements/main.txt
	$(BIN)/python $(PIP_LOCKED) requirements/main.txt $(QUIET_PIP)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e . $(QUIET_PIP)
	$(BIN)/python -m pip check
	$(BIN)/python -c "import govcloud.tenants, pulumi, pulumi_aws, pulumi_azure_native"
	touch $(STAMP)

# Moving dependencies is a reviewed commit, never an accident of the day a machine was set up:
#   make lock      re-resolve after an edit of pyproject.toml or requirements/*.in, keeping every
#                  pin that still fits (uv prefers the versions already in the output file)
#   make upgrade   move every pin to the newest release the ranges allow
# then `make test`, and commit the changed requirements/*.txt with what moved (docs/dependencies.md).
lock: $(BOOTSTRAP_STAMP)
	$(UV_COMPILE) $(UV_FLAGS) pyproject.toml --extra test --extra postgres --extra docs -o requirements/main.txt
	$(UV_COMPILE) $(UV_FLAGS) requirements/bootstrap.in --constraint requirements/main.txt -o requirements/bootstrap.txt
	$(UV_COMPILE) $(UV_FLAGS) requirements/checkov.in -o requirements/checkov.txt

upgrade:
	$(MAKE) lock UV_FLAGS=--upgrade

demo: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo_service.sh

# The report's browser tests drive Debian's Chromium (Playwright with executable_path; never
# `playwright install`, which downloads its own browser). IPA Gothic makes Japanese legible in
# the screenshots the tests keep. Skipped when Chromium is already there; sudo when not root.
browser:
	@if [ -x /usr/bin/chromium ]; then /usr/bin/chromium --version 2>/dev/null || true; else \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-ipafont-gothic; \
	fi

# The service tests start a private PostgreSQL server from Debian's `postgresql` package (initdb and
# pg_ctl live in /usr/lib/postgresql/<version>/bin; tests/support/postgres.py finds them there) and
# check approval signatures with `ssh-keygen -Y` (openssh-client). Skipped when both are there;
# sudo when not root.
service-deps:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v ssh-keygen >/dev/null; then \
	  ls -d /usr/lib/postgresql/*/bin; else \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql openssh-client; \
	fi

# The suite (docs/dependencies.md, "The test suite"): `make test` leaves out the tests marked slow
# (pytest -m "not slow": the dev cloud's server, crash injection, long fuzzing, whole-story browser runs)
# so a newcomer's run stays short; CI (CI=true, as .ci/run runs `make test`) and `make test-all` run
# every test. A failure is listed as file::test in the short summary (-ra, --tb=short); the slowest
# tests are listed too, so a test that grows slow is seen. pytest's exit 5 (no test ran) is a failure.
TEST_DEPS    := setup browser service-deps $(EDITOR_STAMP) $(OIDC_STAMP)
PYTEST_ARGS  := -q -n auto -ra --tb=short --durations=15
TEST_MARKERS := $(if $(filter true,$(CI)),,-m "not slow")
RUN_PYTEST    = $(BIN)/python -m pytest $(PYTEST_ARGS) $(1) $(PYTEST_EXTRA) || { rc=$$?; \
	  [ $$rc -ne 5 ] || echo "pytest ran no test (exit 5): a selection that matches nothing is a failure" >&2; exit $$rc; }

test: $(TEST_DEPS)
	$(call RUN_PYTEST,$(TEST_MARKERS))

test-all: $(TEST_DEPS)
	$(call RUN_PYTEST,)

imports: setup
	$(BIN)/python scripts/import_graph.py

schemas: setup
	$(BIN)/govcloud schema --write

seed: setup
	GOVCLOUD=$(BIN)/govcloud bash scripts/seed_samples.sh

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .govcloud build *.egg-info
