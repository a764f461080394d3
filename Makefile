# Hornbeam: `make run` serves the example app in a rebar3 shell; `make test` builds
# everything and runs every suite. Both install what they need first (quick when done).
SHELL := /bin/bash
.DEFAULT_GOAL := help

DEBIAN_PACKAGES := erlang-nox erlang-dev erlang-common-test erlang-eunit erlang-proper erlang-proper-dev \
                   erlang-tools rebar3 elixir wrk nghttp2-client ngtcp2-client curl openssl
VENV := .venv
PYTHON = $(shell native/find-python)
PY_TEST_PACKAGES := ruff pytest hypothesis wsproto flask django starlette fastapi httpx[http2] websockets aiohttp aioquic niquests hypercorn
NODE_PEERS := test/python/capnweb/node

.PHONY: help deps venv node-peers nif compile run test lint test-cargo test-eunit test-ct test-pytest test-mix bench clean

help:
	@echo "make run    start Hornbeam in a rebar3 shell"
	@echo "make test   build everything, run the gates (make lint) and every test suite"
	@echo "make lint   formatting, clippy, ruff, xref and dialyzer"
	@echo "make bench  run the benchmarks in bench/"

# Debian packages: installed only when one is missing.
deps:
	@if ! dpkg -s $(DEBIAN_PACKAGES) >/dev/null 2>&1; then \
	  echo "==> installing Debian packages: $(DEBIAN_PACKAGES)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBIAN_PACKAGES) >/dev/null; \
	fi
	@native/find-python >/dev/null

# A venv of the embedded Python for pytest; rebuilt when the interpreter changes.
venv: deps
	@py=$$(native/find-python); \
	if [ ! -x $(VENV)/bin/python ] || [ "$$($(VENV)/bin/python -c 'import sys; print(sys.base_prefix)')" != "$$($$py -c 'import sys; print(sys.base_prefix)')" ]; then \
	  rm -rf $(VENV) && $$py -m venv $(VENV); \
	fi; \
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check $(PY_TEST_PACKAGES)

# The JavaScript capnweb peers of the interop tests and bench (package-lock.json pins them).
node-peers:
	@command -v node >/dev/null && node -e 'process.exit(parseInt(process.versions.node) < 20 ? 1 : 0)' || \
	  { echo "the capnweb interop tests need Node.js 20 or later (node on PATH): $$(node --version 2>&1)"; exit 1; }
	@if [ ! -f $(NODE_PEERS)/node_modules/.package-lock.json ] || [ $(NODE_PEERS)/package-lock.json -nt $(NODE_PEERS)/node_modules/.package-lock.json ]; then \
	  cd $(NODE_PEERS) && npm ci --no-audit --no-fund --loglevel=error; \
	fi

nif: deps
	@bash native/build-nif

# rebar3's pre-hook (and Mix's hornbeam_nif compiler) build the NIF themselves.
compile: deps
	@rebar3 compile

run: deps compile
	rebar3 shell

# Every suite runs even when an earlier one fails; the exit status says if any failed.
test: deps venv
	@failed=(); \
	for suite in lint test-cargo test-eunit test-ct test-pytest test-mix; do \
	  echo "==> $$suite"; \
	  $(MAKE) --no-print-directory $$suite || failed+=($$suite); \
	done; \
	if [ $${#failed[@]} -gt 0 ]; then echo "FAILED: $${failed[*]}"; exit 1; fi; \
	echo "all suites passed"

# The gates: every one runs, and any failure fails `make test`. The Rust lints are in
# the workspace Cargo.toml, ruff's rules in ruff.toml.
lint: deps venv
	@failed=(); \
	gate() { echo "--> $$*"; "$$@" || failed+=("[$$*]"); }; \
	gate cargo fmt --check; \
	gate env PYO3_PYTHON=$(PYTHON) cargo clippy --workspace --all-targets --quiet -- -D warnings; \
	gate $(VENV)/bin/ruff check priv/python test/python; \
	gate $(VENV)/bin/ruff format --check priv/python test/python; \
	gate rebar3 xref; \
	gate rebar3 dialyzer; \
	if [ $${#failed[@]} -gt 0 ]; then echo "gates failed: $${failed[*]}"; exit 1; fi

test-cargo:
	PYO3_PYTHON=$(PYTHON) cargo test --workspace

test-eunit:
	rebar3 eunit

# The reactor suite opens 1000 connections at once: 2000+ fds in one VM.
test-ct:
	ulimit -n 65536 2>/dev/null || ulimit -n $$(ulimit -Hn); rebar3 ct

# The pykrozen and capnweb tests start Erlang nodes from _build/default.
test-pytest: compile node-peers
	$(VENV)/bin/python -m pytest -q test/python

# Mix builds under _build/mix so it never shares rebar3's _build/test.
test-mix:
	MIX_BUILD_ROOT=_build/mix MIX_ENV=test mix test

bench: compile node-peers
	bash bench/run.sh

clean:
	rm -rf _build target priv/py_nif.so $(VENV) $(NODE_PEERS)/node_modules
