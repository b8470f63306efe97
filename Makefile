# The README's two commands: `make run` (set up + demo + pipeline) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UV_VERSION := 0.13.9
LANDING ?= landing
WAREHOUSE ?= warehouse
KEY_FILE ?= .secrets/pseudonym.key
SCALE ?= haderslev
SEED ?= 42

.PHONY: install run demo test lint bench clean chromium serve

# --compile-bytecode: where PYTHONDONTWRITEBYTECODE=1 is set (as on these machines) no .pyc is ever cached,
# so every process (each Airflow task, dbt) would compile Airflow's sources again: ~4.7 s per `maturity run`.
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements.lock -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/maturity demo --out $(LANDING) --scale $(SCALE) --seed $(SEED)

# Headless Chromium prints the direktion report to PDF. Installed from Debian when we may (root + apt);
# otherwise the reports are written as HTML only and the run says so.
chromium:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& echo "Installing Debian's chromium for the PDF reports" \
		&& DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null \
		&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
		|| echo "Chromium not available: the direktion reports will be HTML only."

run: install chromium
	$(BIN)/maturity keygen --file $(KEY_FILE)
	$(BIN)/maturity demo --out $(LANDING) --scale $(SCALE) --seed $(SEED)
	MATURITY_PSEUDONYM_KEY_FILE=$(KEY_FILE) $(BIN)/maturity run --landing $(LANDING) --warehouse $(WAREHOUSE)

# The Airflow UI on http://127.0.0.1:8080 (SQLite + LocalExecutor in .airflow/serve): api-server, scheduler,
# dag-processor and triggerer as separate processes, until Ctrl-C stops every one of them by PID.
serve: install
	$(BIN)/maturity keygen --file $(KEY_FILE)
	@[ -d $(LANDING) ] || $(BIN)/maturity demo --out $(LANDING) --scale $(SCALE) --seed $(SEED)
	MATURITY_PSEUDONYM_KEY_FILE=$(KEY_FILE) $(BIN)/python -m maturity.stack serve --port 8080 \
		--landing $(LANDING) --warehouse $(WAREHOUSE) --key-file $(KEY_FILE)

test: install
	$(BIN)/ruff check include dags tests bench
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check include dags tests bench

bench: install
	$(BIN)/python bench/bench_pipeline.py

clean:
	rm -rf $(WAREHOUSE) .airflow
