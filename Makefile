# memberdesk: `make run` starts everything on embedded defaults; `make test` runs the suite.
# Both install what they need first.

API_PY := .venv/api/bin/python
BOT_PY := .venv/bot/bin/python
export MEMBERDESK_DATABASE_URL ?= sqlite:///var/memberdesk.db
# Every Python folder there is; scripts/test.sh lints the same list through `make ruff`.
LINT_PATHS := $(wildcard api bot actions channels harness tests bench scripts)

.PHONY: setup train run test lint ruff bench bench-api bench-nlu bench-nlu-cost bench-serving bench-email bench-load db seed

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

lint: setup ruff

# The lint alone, for when the environments are built already.
ruff:
	@.venv/api/bin/ruff check $(LINT_PATHS)

# Every benchmark, then docs/benchmarks.{md,json} from their sections (over an hour on two
# cores, most of it stock Rasa's DIET on the public data sets). Each can be run on its own.
bench: setup bench-api bench-nlu bench-nlu-cost bench-serving bench-email bench-load
	@$(API_PY) bench/report.py

# 100,000 imported members on SQLite and PostgreSQL -> docs/bench-api.*
bench-api: setup
	@$(API_PY) bench/api_bench.py

# Banking77, CLINC150 and our own data, against TF-IDF and stock Rasa -> docs/benchmarks-nlu.*
bench-nlu: setup
	@nice -n 10 $(BOT_PY) bench/nlu_bench.py

# CPU per parse of a new text with the shipped model, cascade on and off (under two
# minutes; not niced: it measures CPU time) -> docs/benchmarks-nlu-cost.*
bench-nlu-cost: setup train
	@$(BOT_PY) -m bench.nlu.parse_cost

# Simulated members against the whole assistant and stock Rasa -> docs/benchmarks-serving.*
# (about 18 minutes; niced, the machine is shared).
bench-serving: setup
	@nice -n 10 $(BOT_PY) bench/serving_bench.py

# 200 members for 10 minutes over two Rasa replicas behind HAProxy, on PostgreSQL and Redis,
# then 3 minutes on one replica -> docs/benchmarks-load.* (about 17 minutes).
bench-load: setup
	@nice -n 10 $(BOT_PY) bench/load_bench.py

# Held-out member emails and triage throughput -> docs/benchmarks-email.*
bench-email: setup
	@nice -n 10 $(BOT_PY) bench/email_bench.py
