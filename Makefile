# What a newcomer needs (make demo, make test, then make run), and what contributors use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: demo run test bench lint format migrate lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(STAMP)

# The four steps played by a simulated team against the built-in Slack emulator, on a new
# SQLite file; needs no Slack app. DEMO_ARGS="--fast --seed 2" skips the pauses, picks other
# answers.
demo: $(STAMP)
	$(BIN)/partnerbot demo $(DEMO_ARGS)

# `partnerbot run` checks its settings, then applies pending migrations, then serves.
run: $(STAMP)
	$(BIN)/partnerbot run

migrate: $(STAMP)
	$(BIN)/partnerbot migrate

test: $(DEV_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Every bench script with its defaults (results in bench/results/); fails if any script does.
bench: $(DEV_STAMP)
	@status=0; for script in bench/*.py; do \
		echo "== $$script"; $(BIN)/python $$script || status=1; \
	done; exit $$status

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy bot

format: $(DEV_STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# requirements.lock pins every runtime dependency with its hashes; the Docker image installs
# exactly that. Run after changing pyproject.toml's dependencies.
lock: $(DEV_STAMP)
	$(BIN)/pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --generate-hashes --strip-extras --no-emit-index-url \
		--no-emit-find-links --output-file requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist *.egg-info
