# memberdesk: `make run` starts everything on embedded defaults; `make test` runs the suite.
# Both install what they need first.

API_PY := .venv/api/bin/python
BOT_PY := .venv/bot/bin/python
export MEMBERDESK_DATABASE_URL ?= sqlite:///var/memberdesk.db

.PHONY: setup train run test lint bench bench-serving db seed

# Builds both environments, then trains the assistant if there is no model yet.
setup:
	@bash scripts/setup.sh
	@[ -f models/memberdesk.tar.gz ] || bash scripts/train.sh

# Trains when the NLU data, rules, domain or config changed since the last training.
train:
	@bash scripts/setup.sh
	@bash scripts/train.sh

db: setup
	@$(API_PY) -m api.cli db upgrade

seed: db
	@$(API_PY) -m api.cli seed --if-empty

run: seed train
	@$(API_PY) scripts/supervise.py

test: train
	@bash scripts/test.sh

lint: setup
	@.venv/api/bin/ruff check api tests bench scripts

bench: setup bench-serving
	@$(API_PY) bench/api_bench.py

# Simulated members against the whole assistant and stock Rasa -> docs/benchmarks-serving.*
# (about 18 minutes; niced, the machine is shared).
bench-serving: setup
	@nice -n 10 $(BOT_PY) bench/serving_bench.py
