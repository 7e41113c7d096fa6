# holdtime: the two quick-start commands are `make demo` and `make test`.
# Everything runs against an installed (non-editable) copy in $(VENV), like tox does.
SHELL := /bin/bash
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
# sudo: the lab test of a `sudo: true` router (tests/integration/test_lab_drills.py) runs its reads
# through the real sudo when it is installed. zsh: `holdtime completion zsh` is tested in a real zsh.
APT_PACKAGES := frr strongswan-charon strongswan-swanctl libcharon-extra-plugins \
	libstrongswan-extra-plugins openssh-server openssh-client iputils-ping fping busybox \
	nftables iproute2 procps prometheus prometheus-pushgateway golang-go \
	golang-github-vmware-govmomi-dev openssl sudo zsh \
	slapd ldap-utils bind9 bind9-dnsutils chromium
PYTEST_ARGS ?=

.PHONY: help deps install demo test unit integration lint format bench clean

help:
	@echo "make demo   - install what is needed, run holdtime on the built-in lab, print the report"
	@echo "make test   - install, lint (ruff, mypy), run every test (root: includes the lab), then"
	@echo "              the SSH tests again on the lowest paramiko pyproject.toml allows"
	@echo "make unit   - unit tests only (no root, no lab)"
	@echo "make lint   - ruff check, ruff format --check, mypy --strict"
	@echo "make bench  - run the benchmarks under bench/"

# System packages (Debian 12, root). Skips apt entirely when everything is already installed.
deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
		| grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing: $$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -q && apt-get install -y -q --no-install-recommends $$missing </dev/null; \
	fi

$(BIN)/.deps-installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check '.[dev]'
	touch $@

install: $(BIN)/.deps-installed
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --force-reinstall .

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	MYPY=$(abspath $(BIN))/mypy tools/typecheck.sh
	cd tests/thirdparty/holdtime-banner && $(abspath $(BIN))/mypy --strict --no-incremental --cache-dir=/dev/null src  # a family as a third party writes it, against the installed holdtime

format: $(BIN)/.deps-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

unit: install
	$(BIN)/pytest -m "not integration" $(PYTEST_ARGS)

integration: install
	$(BIN)/pytest -m integration $(PYTEST_ARGS)

test: deps lint
	$(BIN)/pytest $(PYTEST_ARGS)
	BIN=$(BIN) bash tools/test_lowest_paramiko.sh

demo: deps install
	PATH=$(abspath $(BIN)):$$PATH bash tools/demo.sh

bench: install
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf build dist *.egg-info .mypy_cache .ruff_cache $(VENV)
