# Two commands: `make dev` starts the whole suite, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: dev test unit lint proto proto-check migrate bench clean install browser-deps

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## Regenerate the gRPC / protobuf code from proto/ into libs/crm_proto/.
proto: $(STAMP)
	$(PY) -m crm_common.protogen generate

## Fail when the committed generated code differs from what proto/ generates.
proto-check: $(STAMP)
	$(PY) -m crm_common.protogen check

## Start embedded PostgreSQL, NATS and MongoDB-wire servers (or use CRM_*_URL), migrate, run every service.
dev: $(STAMP) proto
	$(PY) -m crm_devstack up

migrate: $(STAMP)
	$(PY) -m crm_devstack migrate

lint: $(STAMP)
	$(VENV)/bin/ruff check .

## Debian's Chromium (and CJK fonts, so Chinese labels render) for the Playwright browser tests.
## Installed only when missing and when we may (root, apt); otherwise the browser tests skip and say why.
browser-deps:
	@command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "noto.*cjk" || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium and fonts-noto-cjk for the browser tests…"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null) \
	      || echo "could not install chromium: browser tests will be skipped"; \
	  else echo "chromium missing and not root: browser tests will be skipped"; fi; }

test: $(STAMP) proto-check browser-deps
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

unit: $(STAMP)
	$(PY) -m pytest -m "not integration" libs services gateway

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) .dev .pytest_cache
