# One command each: `make setup`, `make check`, `make test`, `make demo`.
PYTHON ?= python3
SHARED ?= ../shared

.PHONY: setup check test demo bench format

.setup-stamp: pyproject.toml .ci/install-system-deps
	bash .ci/install-system-deps
	$(PYTHON) -m pip install -q -e '.[dev]'
	touch .setup-stamp

setup: .setup-stamp

check: .setup-stamp
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m mypy

format:
	$(PYTHON) -m ruff format .
	$(PYTHON) -m ruff check --fix .

test: .setup-stamp
	$(PYTHON) -m pytest

demo: .setup-stamp
	noots demo

bench: .setup-stamp
	$(PYTHON) bench/crypto.py
