# Two commands set everything up on a fresh machine (both idempotent):
#   make demo   create .venv, install govcloud, run the main job on the sample workspace
#   make test   same set-up, then the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# checkov pins old versions of packages Pulumi needs newer: it gets its own environment and runs as a tool.
CHECKOV_VENV  := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
CHECKOV_SPEC  ?= checkov>=3.2,<4

.PHONY: demo test setup clean schemas seed bench imports browser service-deps

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

$(CHECKOV_STAMP):
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet "$(CHECKOV_SPEC)" 2>&1 | grep -v "^WARNING: Location" || true
	$(CHECKOV_VENV)/bin/checkov --version
	touch $(CHECKOV_STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24" "setuptools>=70" wheel 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -m pip install --quiet -e ".[test]" 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -c "import govcloud.tenants, pulumi, pulumi_aws, pulumi_azure_native" 
	touch $(STAMP)

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

test: setup browser service-deps $(EDITOR_STAMP) $(OIDC_STAMP)
	$(BIN)/python -m pytest -q -n auto

imports: setup
	$(BIN)/python scripts/import_graph.py

schemas: setup
	$(BIN)/govcloud schema --write

seed: setup
	GOVCLOUD=$(BIN)/govcloud bash scripts/seed_samples.sh

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .govcloud build *.egg-info
