# `make demo` and `make test` do all the set-up on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-requirements
DEMO := output/demo

.PHONY: install chromium demo test lint bench clean

install: $(STAMP)

# requirements.txt installs this project editable (`-e .[export,dev]`), so
# the package's dependencies come from pyproject.toml and an edit to either
# file reinstalls.
$(STAMP): pyproject.toml requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

# Train SmallVGGNet on scikit-learn's bundled digits (no download), then
# classify 10 digits that training never saw. Patience 10: with 5, a run
# sometimes stopped at epoch 15 on a noisy validation loss, at 0.95.
demo: install
	$(PY) -m pyimagesearch.datasets.digits --output $(DEMO)/digits \
		--holdout $(DEMO)/new_digits --holdout-per-class 1
	$(PY) train_vgg.py --dataset $(DEMO)/digits --size 32 --no-flip --epochs 30 --patience 10 \
		--model $(DEMO)/smallvggnet.keras
	$(PY) predict.py --model $(DEMO)/smallvggnet.keras --image $(DEMO)/new_digits \
		--output $(DEMO)/predictions
	@echo "Demo outputs are in $(DEMO)/ (model, sidecar, plot, confusion matrix, top losses, HTML report, predictions)."

# The HTML report's test opens it in Debian's chromium; where apt-get cannot
# install it (no root, not Debian), that test skips and says so.
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
		|| echo "chromium could not be installed: the browser test will be skipped"

test: install chromium
	$(PY) -m pytest -q tests

lint: install
	$(PY) -m ruff check .

bench: install
	$(PY) -m benchmarks.bench_loader --dataset ../shared/data/animals
	$(PY) -m benchmarks.bench_accuracy --dataset ../shared/data/animals

clean:
	rm -rf $(DEMO) .pytest_cache
