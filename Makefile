# One command each: `make setup`, `make check`, `make test`, `make demo`, `make compose-e2e`.
SYSTEM_PYTHON ?= python3
SHARED ?= ../shared
# Debian's own Python refuses system-wide pip installs (PEP 668): there, and only there, the
# project installs into a virtual environment in .venv.
EXTERNALLY_MANAGED := $(shell $(SYSTEM_PYTHON) -c "import sys, sysconfig, pathlib; print(int(sys.prefix == sys.base_prefix and pathlib.Path(sysconfig.get_path('stdlib'), 'EXTERNALLY-MANAGED').exists()))" 2>/dev/null)
ifeq ($(EXTERNALLY_MANAGED),1)
PYTHON ?= .venv/bin/python
else
PYTHON ?= $(SYSTEM_PYTHON)
endif
# Extra options of `noots demo`, e.g. `make demo DEMO_ARGS=--keep-running` for the browser.
DEMO_ARGS ?=

.PHONY: setup check test demo bench format compose-e2e

# Setup also installs axe-core from npm into ./node_modules (nothing saved, no lock file): the
# browser tests' accessibility checks inject it into every page (noots.testing.browser).
.setup-stamp: pyproject.toml .ci/install-system-deps
	bash .ci/install-system-deps
	if [ "$(EXTERNALLY_MANAGED)" = 1 ] && [ ! -x .venv/bin/python ]; then $(SYSTEM_PYTHON) -m venv .venv; fi
	$(PYTHON) -m pip install -q -e '.[dev]'
	npm install --prefix . --no-save --no-package-lock --no-audit --no-fund --loglevel=error axe-core@4.14
	touch .setup-stamp

setup: .setup-stamp

check: .setup-stamp
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m mypy

format:
	$(PYTHON) -m ruff format .
	$(PYTHON) -m ruff check --fix .

# Two workers, each test file on one of them (module fixtures start a landscape once):
# 11 min instead of 19 on the project's 2-core machine. `make test TEST_WORKERS=0` runs serially.
TEST_WORKERS ?= 2

test: .setup-stamp
	$(PYTHON) -m pytest -n $(TEST_WORKERS) --dist loadfile

demo: .setup-stamp
	$(PYTHON) -m noots demo $(DEMO_ARGS)

bench: .setup-stamp
	$(PYTHON) -m noots bench all

# The compose landscape built, started and exercised in containers (Docker, else podman, which
# this installs on Debian when neither is there); tears everything down, exit 0 only when every
# step held. See docs/DEPLOYMENT.md.
compose-e2e: .setup-stamp
	bash .ci/install-system-deps containers
	$(PYTHON) -m noots.testing.compose_e2e
