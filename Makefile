# Two commands matter: `make run` starts the bot, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUNS ?= 10
STREAMS ?= 1

.PHONY: run demo demo-smoke demo-shots test soak-tests e2e lint bench bench-media sync check clean story

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m bot

# The real bot against the fake Discord and the fake fal, with a local page at http://127.0.0.1:8765 (PORT=...).
demo: $(STAMP)
	$(BIN)/python -m sandbox --port $(or $(PORT),8765)

# One scripted /tween through the sandbox's page endpoints, no browser; exit 0 once the video is in the page.
demo-smoke: $(STAMP)
	$(BIN)/python -m sandbox --smoke

# The README's sandbox screenshots (docs/sandbox/*.png), with headless Chromium.
demo-shots: $(STAMP)
	$(BIN)/python -m sandbox.shots

test: $(STAMP)
	scripts/postgres-binaries.sh
	$(BIN)/ruff check bot cogs tests benchmarks scripts sandbox
	$(BIN)/python -m pytest -q

# The whole suite RUNS times (default 10) with every core kept busy: see scripts/soak-tests.sh.
soak-tests: $(STAMP)
	BIN=$(BIN) RUNS=$(RUNS) STREAMS=$(STREAMS) scripts/soak-tests.sh

e2e: $(STAMP)
	$(BIN)/python -m pytest -q -m e2e

lint: $(STAMP)
	$(BIN)/ruff check bot cogs tests benchmarks scripts sandbox
	$(BIN)/ruff format --check bot cogs tests benchmarks scripts sandbox

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
