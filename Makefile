# Two commands do all the set-up: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: run test lint bench clean chromium

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

# Embedded Postgres + Redis under .devdata/ (unless DATABASE_URL/REDIS_URL are set), migrate,
# demo data, then web (gunicorn, threaded workers) + worker + beat in the foreground. Ctrl-C stops
# everything. `make run RELOAD=1` restarts the web workers when the code changes. `make run
# REPLICA=1` also starts a streaming replica of the embedded Postgres and reads from it.
run: $(INSTALLED)
	$(PY) -m config.devservices run $(if $(RELOAD),--reload) $(if $(REPLICA),--replica)

# The browser tests drive a real Chromium (Debian's, through Playwright). As root with apt-get it is
# installed when missing; otherwise `make test` stops at once and says what to install.
CHROMIUM ?= $(or $(shell command -v chromium 2>/dev/null),/usr/bin/chromium)
export CHROMIUM

chromium:
	@if [ -x "$(CHROMIUM)" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Chromium is missing: installing Debian's chromium for the browser tests."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else \
		echo "make test needs Chromium for its browser tests, and $(CHROMIUM) is not there." >&2; \
		echo "Install it (Debian/Ubuntu: sudo apt-get install chromium), or point" \
			"CHROMIUM=/path/to/chromium at one." >&2; \
		exit 1; \
	fi

# The whole suite against throwaway embedded services (or DATABASE_URL/REDIS_URL), then ruff.
test: chromium $(INSTALLED)
	$(PY) -m config.devservices throwaway -- $(PY) -m pytest $(PYTEST_ARGS)
	$(PY) -m config.devservices throwaway -- $(PY) -m tests.bench --scale small --output ''
	$(MAKE) lint

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

# What CQRS buys, side by side with a plain CRUD app: seeds 100,000 orders into throwaway
# services, prints a table and writes bench-results.json. BENCH_ARGS="--scale small" for a quick run.
bench: $(INSTALLED)
	$(PY) -m config.devservices throwaway -- $(PY) -m tests.bench $(BENCH_ARGS)

clean:
	rm -rf .devdata
