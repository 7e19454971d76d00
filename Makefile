.PHONY: setup setup-test demo test check lint typecheck format screenshots clean soak
SHELL := /bin/bash
PY := .venv/bin/python
# The tests not marked serial run on this many workers (a module stays on one worker, so its
# module-scoped stand-in is shared); the serial ones, timing-sensitive, then run alone.
TEST_WORKERS ?= 2

# setup: what the demo needs; setup-test: that plus the test tools and the web-SDK harness.
setup:
	@scripts/setup.sh

setup-test:
	@scripts/setup.sh --test

demo: setup
	.venv/bin/convai-tui demo

test: setup-test
	$(PY) -m ruff check convai_tui tests bench
	$(PY) -m ruff format --check convai_tui tests
	.venv/bin/lint-imports
	$(PY) -m mypy
	bench/run --smoke
	$(PY) -m pytest -q -ra -m "not serial" -n $(TEST_WORKERS) --dist loadfile
	$(PY) -m pytest -q -ra -m serial

lint: setup-test
	$(PY) -m ruff check convai_tui tests bench
	$(PY) -m ruff format --check convai_tui tests
	.venv/bin/lint-imports

typecheck: setup-test
	$(PY) -m mypy

check: lint typecheck

format: setup-test
	$(PY) -m ruff format convai_tui tests

screenshots: setup-test
	$(PY) scripts/screenshots.py

# One session against the local stand-in, a text turn every 5 s; RSS and open fds over time.
DURATION ?= 600
soak: setup-test
	$(PY) scripts/soak.py --duration $(DURATION)

clean:
	rm -rf .venv .tools .pytest_cache .mypy_cache .ruff_cache
