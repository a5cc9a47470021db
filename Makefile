# SceneBridge 场景桥 — common commands. `make run` serves the demo, `make test` runs the suite.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app market
PORT   ?= 5000
# The CPU build of torch may lie on local disk (pip's find-links); never pull a CUDA build.
PIP_FLAGS := $(if $(wildcard /opt/wheels),--find-links /opt/wheels,)

.PHONY: install system-deps run serve test test-sqlite test-postgres lint format bench clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(PIP_FLAGS) "torch==2.13.0"
	$(BIN)/pip install -q $(PIP_FLAGS) -e ".[dev,prod]"
	touch $@

install: $(VENV)/.installed

## Debian packages for PDF export (CJK font) and the browser tests (Chromium).
system-deps:
	@if ! fc-list 2>/dev/null | grep -qi "wenquanyi"; then \
	  apt-get update -qq && apt-get install -y -qq fonts-noto-cjk fonts-wqy-zenhei; fi
	@if ! command -v chromium >/dev/null; then \
	  apt-get update -qq && apt-get install -y -qq chromium; fi

## Embedded default: SQLite + in-process tasks + bundled offline model, on http://127.0.0.1:5000
run: install
	$(FLASK) db upgrade
	$(FLASK) seed --no-index
	$(FLASK) index catch-up --background
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

serve:
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

## The whole suite: SQLite always; PostgreSQL too when MARKET_TEST_PG_URL is set (CI sets it).
test: install system-deps
	$(MAKE) test-sqlite
	@if [ -n "$$MARKET_TEST_PG_URL" ]; then $(MAKE) test-postgres; \
	  else echo "MARKET_TEST_PG_URL not set: PostgreSQL run skipped"; fi

test-sqlite:
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -p no:cacheprovider

test-postgres:
	HF_HUB_OFFLINE=1 MARKET_TEST_DATABASE_URL="$$MARKET_TEST_PG_URL" \
	  $(BIN)/python -m pytest -q -p no:cacheprovider -m "not model and not browser"

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format:
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf instance/scenebridge.db instance/index test-output

## Translations: Chinese is the source language (msgid); translations/en holds the English catalogue.
## After changing user-visible text: `make translations-extract`, translate the new entries in
## translations/en/LC_MESSAGES/messages.po, then `make translations-compile` and commit the .po and .mo.
.PHONY: translations-extract translations-compile
PYBABEL := $(BIN)/pybabel

translations-extract:
	$(PYBABEL) extract -F babel.cfg -k lazy_gettext -k _l --sort-by-file --no-wrap \
	  --project SceneBridge --copyright-holder SceneBridge -o translations/messages.pot .
	$(PYBABEL) update -i translations/messages.pot -d translations --no-fuzzy-matching \
	  --ignore-obsolete --no-wrap

translations-compile:
	$(PYBABEL) compile -d translations --statistics
