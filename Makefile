# Guanjia developer entry points. Every target that runs code creates the virtualenv it needs.
# POSIX make: no GNU extensions (no $(wildcard), $(shell), pattern rules or ifeq).
#
#   make run              embedded: one process, SQLite under var/, in-memory bus, demo data (needs only Python)
#   make run-distributed  gunicorn + worker per service on local PostgreSQL and RabbitMQ (needs only Python)
#   make test             the whole test suite (the README's test command; .ci/run runs it; needs Node's npm too)
#   make test-unit        only the pure rules (seconds, no PostgreSQL or RabbitMQ); test-integration, test-e2e: the rest
#   make lint             ruff check, ruff format --check, import-linter contracts (no Node)
#   make bench            benchmarks (bench/run.py); figures go to bench/README.md by hand
#   make faults           the full fault matrix on a private RabbitMQ node and PostgreSQL cluster (long outages)
#   make fuzz             schemathesis over the merged OpenAPI as admin and resident: no 5xx (bench/fuzz.py)
#   make clean            remove var/ and build/cache debris (keeps .venv); distclean also removes .venv

PYTHON = python3.11
VENV = .venv
BIN = $(VENV)/bin
# Two layers: what running needs (make run, run-distributed) and, on top, the test and lint tools (make test, lint).
RUN_STAMP = $(VENV)/.guanjia-run-installed
STAMP = $(VENV)/.guanjia-installed
# The reference AsyncAPI parser (node) that tests/contract runs against docs/asyncapi.yaml.
NODE_STAMP = tests/asyncapi/node_modules/.guanjia-installed

SERVICE_PYPROJECTS = services/residents/pyproject.toml services/tickets/pyproject.toml \
	services/billing/pyproject.toml services/notifications/pyproject.toml services/gateway/pyproject.toml \
	services/workbench/pyproject.toml \
	services/staff/pyproject.toml services/community/pyproject.toml
RUN_REQUIREMENTS = requirements/constraints.txt requirements/base.in libs/guanjia/pyproject.toml $(SERVICE_PYPROJECTS)

RUN_INSTALL_ARGS = -c requirements/constraints.txt -r requirements/base.in \
	-e libs/guanjia -e services/residents -e services/tickets -e services/billing \
	-e services/notifications -e services/gateway -e services/workbench \
	-e services/staff -e services/community
DEV_INSTALL_ARGS = -c requirements/constraints.txt -r requirements/dev.in

# Defaults for run-distributed: the local servers (PostgreSQL trust auth, RabbitMQ guest/guest).
# Each can be overridden from the environment or the command line (make run-distributed GUANJIA_AMQP_URL=...).
DIST_DATABASE_URL = postgresql+psycopg://postgres@127.0.0.1:5432/guanjia_{service}
DIST_AMQP_URL = amqp://guest:guest@127.0.0.1:5672/%2F

.PHONY: venv run-venv run run-distributed secrets test test-unit test-integration test-e2e lint bench faults fuzz clean distclean

# Everything (running, tests, lint, the Node AsyncAPI parser): what a contributor and CI need.
venv: $(STAMP) $(NODE_STAMP)
# Only what running needs: no test or lint tools, no kubectl, no Node.
run-venv: $(RUN_STAMP)

# Each layer reinstalls only when its requirements file, the constraints or a pyproject.toml changed.
$(RUN_STAMP): $(RUN_REQUIREMENTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(RUN_INSTALL_ARGS)
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP) requirements/dev.in
	$(BIN)/python -m pip install $(DEV_INSTALL_ARGS)
	touch $(STAMP)

$(NODE_STAMP): tests/asyncapi/package.json tests/asyncapi/package-lock.json
	npm ci --prefix tests/asyncapi --no-audit --no-fund --ignore-scripts
	touch $(NODE_STAMP)

run: $(RUN_STAMP)
	$(BIN)/guanjia run --demo

run-distributed: $(RUN_STAMP)
	db='$(DIST_DATABASE_URL)'; amqp='$(DIST_AMQP_URL)'; \
	GUANJIA_DATABASE_URL="$${GUANJIA_DATABASE_URL:-$$db}" \
	GUANJIA_AMQP_URL="$${GUANJIA_AMQP_URL:-$$amqp}" \
	$(BIN)/guanjia run --distributed --demo

# The secret files docker-compose.yml mounts (./secrets/*, kept when they exist): run before `docker compose up`.
secrets:
	python3 scripts/compose_secrets.py

# Two worker processes (pytest-xdist), whole files each: the e2e flows mostly wait on processes and the broker, so
# two at once use both cores. TEST_WORKERS=0 runs everything in this one process (a debugger, -x, --pdb).
TEST_WORKERS ?= 2
test: venv
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

# The same suite in three parts. Unit: the pure rules, no PostgreSQL or RabbitMQ, seconds.
test-unit: venv
	$(BIN)/python -m pytest -q libs/guanjia/tests/unit services/*/tests/unit

# Each service and the library against the real PostgreSQL and RabbitMQ, plus the contracts between them.
test-integration: venv
	$(BIN)/python -m pytest -q libs/guanjia/tests/integration services/*/tests/integration tests/contract

# Whole flows through the gateway (both run modes, the browser), the operator's processes, the deploy files.
test-e2e: venv
	$(BIN)/python -m pytest -q tests/e2e tests/ops tests/deploy

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

bench: venv
	$(BIN)/python bench/run.py

faults: venv
	rm -f var/faults.jsonl; mkdir -p var
	GUANJIA_FAULT_DB_OUTAGE_SECONDS=120 GUANJIA_FAULT_BROKER_OUTAGE_SECONDS=30 GUANJIA_REQUIRE_INFRA=1 \
	GUANJIA_FAULT_REPORT=var/faults.jsonl $(BIN)/python -m pytest tests/e2e/test_zz_bus_faults.py -q
	cat var/faults.jsonl

fuzz: venv
	$(BIN)/python bench/fuzz.py

clean:
	rm -rf var .pytest_cache .ruff_cache .import_linter_cache build dist
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
	find . -path ./$(VENV) -prune -o -type d -name '*.egg-info' -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
