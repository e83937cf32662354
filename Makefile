# Two entry points (see README): `make run` (the main job on the embedded default) and
# `make test` (lint, import contracts, every test). Each does its own set-up on a fresh
# Debian machine that has only python3, make and apt.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pytest-xdist workers for the default run (the tests mostly wait on real processes);
# `make test TEST_WORKERS=0` runs them in this process, one after the other.
TEST_WORKERS ?= 3
DEBIAN_PACKAGES := kamailio kamailio-extra-modules kamailio-tls-modules sip-tester rtpengine-daemon redis-server espeak-ng
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint setup debs crd clean

run: setup
	$(BIN)/samuctl tenant validate helm/samu-operator/examples/*.yaml
	$(BIN)/samuctl plan --stack dev --out out/plan
	$(BIN)/samuctl drill --tenants 10

test: setup debs lint
	$(BIN)/pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile tests --ignore=tests/infra
	@if compgen -G 'tests/infra/test_*.py' >/dev/null; then $(BIN)/pytest -q -p no:cacheprovider tests/infra; fi

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

setup: $(STAMP)

# Re-installs when pyproject.toml changes; python3-venv is installed when missing.
$(STAMP): pyproject.toml
	@python3 -c 'import ensurepip, venv' 2>/dev/null || ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q python3-venv)
	@[ -x $(PY) ] || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	@touch $@

# Kamailio, SIPp and rtpengine for the SIP edge and media tests (Redis and espeak-ng for the call keeper's), from Debian, only when missing.
debs:
	@missing=""; \
	command -v kamailio >/dev/null || missing="$$missing kamailio kamailio-extra-modules"; \
	command -v sipp >/dev/null || missing="$$missing sip-tester"; \
	command -v rtpengine >/dev/null || missing="$$missing rtpengine-daemon"; \
	dpkg -s kamailio-tls-modules >/dev/null 2>&1 || missing="$$missing kamailio-tls-modules"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v espeak-ng >/dev/null || missing="$$missing espeak-ng"; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $$missing; \
	fi

crd: setup
	$(BIN)/samuctl crd generate && $(BIN)/samuctl crd docs

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
