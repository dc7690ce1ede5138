# hipspine-cds: `make run` and `make test` work from a fresh clone (see README.md).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8080

.PHONY: run test lint typecheck serve-prod bench bench-load bench-peer-setup clean venv fhir-server sandbox

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "hipspine-cds needs Python 3.11 or newer as $(PYTHON)" >&2; exit 1; }
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  rm -rf $(VENV); \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's python3-venv" >&2; \
	    apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null && $(PYTHON) -m venv $(VENV); \
	  else \
	    echo "python venv is missing: install Debian's python3-venv (sudo apt-get install python3-venv)" >&2; exit 1; \
	  fi; }

# Installs are stamped by the files that define them, so re-runs cost nothing.
$(VENV)/.runtime: $(BIN)/python pyproject.toml requirements.lock
	$(BIN)/pip install -q -c requirements.lock -e .
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime
	$(BIN)/pip install -q -c requirements.lock -e '.[dev]'
	@touch $@

venv: $(VENV)/.dev

run: $(VENV)/.runtime
	HOST=$(HOST) PORT=$(PORT) CONSOLE_ENABLED=$${CONSOLE_ENABLED:-development} $(BIN)/hipspine serve

# A local FHIR R4 server (sekmet-fhir, the one the integration tests use) on
# http://127.0.0.1:$(FHIR_PORT)/fhir, data in $(FHIR_DIR); installed on first use (make run does
# not install it); Ctrl-C stops it.
FHIR_PORT ?= 8090
FHIR_DIR  ?= data/fhir-server
fhir-server: $(VENV)/.runtime
	@test -x $(BIN)/sekmet || $(BIN)/pip install -q -c requirements.lock sekmet-fhir
	@mkdir -p $(FHIR_DIR)
	@D=$$(cd $(FHIR_DIR) && pwd); printf '%s\n' \
	  "base_url: http://127.0.0.1:$(FHIR_PORT)/fhir" "host: 127.0.0.1" "port: $(FHIR_PORT)" \
	  "db_path: $$D/sekmet.db" "data_dir: $$D/data" \
	  "own_private_key_path: $$D/keys/sekmet_private.pem" \
	  "simulator: {enabled: false}" "validation: {inbound: strict}" > $$D/settings.yaml
	@echo "FHIR server on http://127.0.0.1:$(FHIR_PORT)/fhir (data in $(FHIR_DIR); Ctrl-C stops it)"
	cd $(FHIR_DIR) && exec $(abspath $(BIN))/sekmet serve --config settings.yaml

# A local CDS Hooks playground: the FHIR server above with the sample patients, and the service
# set up for https://sandbox.cds-hooks.org (development only); prints the URLs; Ctrl-C stops all.
sandbox: $(VENV)/.runtime
	@test -x $(BIN)/sekmet || $(BIN)/pip install -q -c requirements.lock sekmet-fhir
	$(BIN)/hipspine sandbox --port $(PORT) --fhir-port $(FHIR_PORT)

# The production server locally: gunicorn with the container's gunicorn.conf.py.
serve-prod: $(VENV)/.runtime
	HOST=$(HOST) PORT=$(PORT) $(BIN)/gunicorn --config gunicorn.conf.py

# The browser tests (tests/browser) drive Debian's chromium: no browser is downloaded.
.PHONY: chromium
chromium:
	@command -v $${CHROMIUM:-chromium} >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's chromium (for the browser tests)" >&2; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "the browser tests need Debian's chromium: install it (sudo apt-get install chromium)" >&2; exit 1; \
	  fi; }

test: $(VENV)/.dev chromium
	$(BIN)/ruff check service tests bench
	$(BIN)/ruff format --check service tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest

lint: $(VENV)/.dev
	$(BIN)/ruff check service tests bench
	$(BIN)/ruff format --check service tests bench

typecheck: $(VENV)/.dev
	$(BIN)/mypy

bench: $(VENV)/.dev
	$(BIN)/python bench/evaluate.py

bench-load: $(VENV)/.dev
	$(BIN)/python bench/load.py

# The Node peer of the benchmarks (bench/peer/README.md): its dependencies by name, pinned.
PEER_DEPS := express@4.22.3 axios@0.21.4 body-parser@1.20.9 uuid@3.4.0 fhirpath@3.18.0 \
  array.prototype.flatmap@1.3.3
bench-peer-setup:
	cd bench/peer && npm install --no-save --omit=dev --no-audit --no-fund $(PEER_DEPS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
