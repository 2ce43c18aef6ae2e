# Everything a fresh machine needs is set up by the targets themselves.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test demo serve lint typecheck chromium bench clean migration

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# Chromium: TRIAGEBOT_CHROMIUM_PATH, the system's, or Playwright's own; when none is found, Debian's
# chromium package where apt-get exists (as root), else Playwright's download.
chromium: $(STAMP)
	@$(BIN)/python -m triagebot.browser_setup || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian's chromium package"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null; \
	  else \
	    echo "installing Playwright's Chromium"; $(BIN)/playwright install chromium; \
	  fi; \
	  $(BIN)/python -m triagebot.browser_setup; }

test: $(STAMP) chromium
	$(BIN)/ruff check triagebot tests bench
	$(BIN)/ruff format --check triagebot tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest

demo: $(STAMP) chromium
	$(BIN)/triagebot demo

serve: $(STAMP)
	$(BIN)/triagebot serve

lint: $(STAMP)
	$(BIN)/ruff check --fix triagebot tests bench
	$(BIN)/ruff format triagebot tests bench

bench: $(STAMP) chromium
	$(BIN)/python -m bench.intake
	$(BIN)/python -m bench.gate
	$(BIN)/python -m bench.coverage

clean:
	rm -rf $(VENV) .triagebot-data .triagebot-demo

# Until the first release the schema lives in one initial migration, regenerated from the models.
migration: $(STAMP)
	rm -f triagebot/migrations/versions/0001_initial_schema.py /tmp/triagebot-migration.db
	$(BIN)/python -c "from alembic import command; from triagebot.db import alembic_config; \
	  command.revision(alembic_config('sqlite:////tmp/triagebot-migration.db'), message='initial schema', autogenerate=True, rev_id='0001')"
	$(BIN)/ruff format -q triagebot/migrations/versions
