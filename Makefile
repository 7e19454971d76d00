.PHONY: setup demo test check lint typecheck format screenshots clean soak
SHELL := /bin/bash
PY := .venv/bin/python

setup:
	@scripts/setup.sh

demo: setup
	.venv/bin/convai-tui demo

test: setup
	$(PY) -m ruff check convai_tui tests
	$(PY) -m ruff format --check convai_tui tests
	.venv/bin/lint-imports
	$(PY) -m mypy
	bench/run --smoke
	$(PY) -m pytest -q -ra

lint: setup
	$(PY) -m ruff check convai_tui tests
	$(PY) -m ruff format --check convai_tui tests
	.venv/bin/lint-imports

typecheck: setup
	$(PY) -m mypy

check: lint typecheck

format: setup
	$(PY) -m ruff format convai_tui tests

screenshots: setup
	$(PY) scripts/screenshots.py

# One session against the local stand-in, a text turn every 5 s; RSS and open fds over time.
DURATION ?= 600
soak: setup
	$(PY) scripts/soak.py --duration $(DURATION)

clean:
	rm -rf .venv .tools .pytest_cache .mypy_cache .ruff_cache
