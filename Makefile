# Two commands matter: `make run` starts the bot, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUNS ?= 10
STREAMS ?= 1

.PHONY: run test soak-tests e2e lint bench bench-media sync check clean story

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m bot

test: $(STAMP)
	scripts/postgres-binaries.sh
	$(BIN)/ruff check bot cogs tests benchmarks scripts
	$(BIN)/python -m pytest -q

# The whole suite RUNS times (default 10) with every core kept busy: see scripts/soak-tests.sh.
soak-tests: $(STAMP)
	BIN=$(BIN) RUNS=$(RUNS) STREAMS=$(STREAMS) scripts/soak-tests.sh

e2e: $(STAMP)
	$(BIN)/python -m pytest -q -m e2e

lint: $(STAMP)
	$(BIN)/ruff check bot cogs tests benchmarks scripts
	$(BIN)/ruff format --check bot cogs tests benchmarks scripts

# Fitting 1080p videos to 10 and 25 MiB with the [media] defaults: CPU, SSIM/PSNR, memory, loop lag (a minute or two).
bench-media: $(STAMP)
	$(BIN)/python -m benchmarks.media

# The story as members, moderators and the operator see it: docs/story/ (PNGs with headless Chromium, transcript).
story: $(STAMP)
	$(BIN)/python -m scripts.story

sync: $(STAMP)
	$(BIN)/python -m bot sync $(if $(GUILD),--guild $(GUILD),)

clean:
	rm -rf $(VENV) .pytest_cache
