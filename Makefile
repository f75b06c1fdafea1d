# The two commands a newcomer needs: `make demo` and `make test`. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Debian packages the lab and the tests use (slapd behind a netfilter router in namespaces).
APT_PACKAGES := iproute2 iptables nftables slapd ldap-utils openssl nmap procps chromium fonts-dejavu-core graphviz systemd freeradius krb5-kdc krb5-admin-server dnsmasq-base chrony postfix socat ipset conntrack time postgresql openssh-server

.PHONY: help deps venv lint typecheck pytest test test-long demo claim-demo fleet-demo clean constraints schemas

help:
	@echo "make demo   run the auditor on the built-in example lab"
	@echo "make claim-demo  the go-live story: claim the planned addresses on a switched lab"
	@echo "make fleet-demo  the fleet story: two sites (one over SSH), three pairs, one alert"
	@echo "make test   install everything, then lint, type-check and run the tests"

# The lab runs its own daemons in namespaces: the new packages' host services are turned off.
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then \
	    systemctl disable --now freeradius krb5-kdc krb5-admin-server chrony postfix postgresql ssh >/dev/null 2>&1 || true; \
	  fi; \
	fi

# constraints.txt pins every package the venv holds, so CI installs what was tested
# (refresh it with `make constraints` after changing the dependencies in pyproject.toml).
$(BIN)/auditor: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	@touch $@

constraints:
	rm -rf .constraints-venv
	$(PYTHON) -m venv .constraints-venv
	.constraints-venv/bin/pip install -q --upgrade pip
	.constraints-venv/bin/pip install -q -e '.[dev]'
	.constraints-venv/bin/pip freeze --exclude-editable | grep -v '^-e ' > constraints.txt
	rm -rf .constraints-venv

venv: $(BIN)/auditor

# The results and run JSON Schemas are generated from the model (tests/test_document_schemas.py
# fails when a shipped one differs), the inventory's from auditor/model/inventory_spec.py
# (tests/test_schema.py): run this after changing a document's dataclasses or the inventory spec.
schemas: venv
	$(BIN)/python -m auditor.model.schemas
	$(BIN)/python -m auditor.inventory.schema

lint: venv
	$(BIN)/ruff format --check auditor tests bench
	$(BIN)/ruff check auditor tests bench
	$(BIN)/lint-imports
	$(BIN)/vulture auditor vulture_whitelist.py

typecheck: venv
	$(BIN)/mypy

# The tests that need no lab run in two workers (pytest-xdist, one test module at a time per
# worker: --dist loadfile in pyproject.toml); the lab tests then run in one process, in order
# (one lab session, no two labs or claim runs at once: some check the host's namespaces).
# The long run tries every property test's full count of examples (tests/support/fuzz.py).
PYTEST_WORKERS ?= 2
pytest: deps venv
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) -m "not lab" $(PYTEST_ARGS)
	$(BIN)/pytest -q -m lab $(PYTEST_ARGS)

test: deps venv lint typecheck pytest

test-long: deps venv
	$(MAKE) pytest PYTEST_ARGS=--hypothesis-profile=long

demo: deps venv
	AUDITOR=$(BIN)/auditor examples/demo.sh

claim-demo: deps venv
	AUDITOR=$(BIN)/auditor PY=$(BIN)/python examples/claim-demo.sh

fleet-demo: deps venv
	AUDITOR=$(BIN)/auditor PY=$(BIN)/python examples/fleet-demo.sh

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache
