# Two commands set everything up on a fresh machine (both idempotent):
#   make demo   create .venv, install govcloud, run the main job on the sample workspace
#   make test   same set-up, then the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test setup clean schemas seed bench

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24" "setuptools>=70" wheel 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -m pip install --quiet -e ".[test]" 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -c "import govcloud.tenants, pulumi, pulumi_aws, pulumi_azure_native" 
	touch $(STAMP)

demo: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh

test: setup
	$(BIN)/python -m pytest -q

schemas: setup
	$(BIN)/govcloud schema --write

seed: setup
	GOVCLOUD=$(BIN)/govcloud bash scripts/seed_samples.sh

clean:
	rm -rf $(VENV) .govcloud build *.egg-info
