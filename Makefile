# Guanjia developer entry points. Every target that runs code creates the virtualenv it needs.
# POSIX make: no GNU extensions (no $(wildcard), $(shell), pattern rules or ifeq).
#
#   make run              embedded: one process, SQLite under var/, in-memory bus, demo data
#   make run-distributed  gunicorn + worker per service on local PostgreSQL and RabbitMQ
#   make test             the whole test suite (the README's test command; .ci/run runs it)
#   make lint             ruff check, ruff format --check, import-linter contracts
#   make bench            benchmarks (bench/run.py); figures go to bench/README.md by hand
#   make fuzz             schemathesis over the merged OpenAPI as admin and resident: no 5xx (bench/fuzz.py)
#   make clean            remove var/ and build/cache debris (keeps .venv); distclean also removes .venv

PYTHON = python3.11
VENV = .venv
BIN = $(VENV)/bin
STAMP = $(VENV)/.guanjia-installed
# The reference AsyncAPI parser (node) that tests/contract runs against docs/asyncapi.yaml.
NODE_STAMP = tests/asyncapi/node_modules/.guanjia-installed

SERVICE_PYPROJECTS = services/residents/pyproject.toml services/tickets/pyproject.toml \
	services/billing/pyproject.toml services/notifications/pyproject.toml services/gateway/pyproject.toml
REQUIREMENTS = requirements/constraints.txt requirements/base.in requirements/dev.in \
	libs/guanjia/pyproject.toml $(SERVICE_PYPROJECTS)

PIP_INSTALL_ARGS = -c requirements/constraints.txt -r requirements/base.in -r requirements/dev.in \
	-e libs/guanjia -e services/residents -e services/tickets -e services/billing \
	-e services/notifications -e services/gateway

# Defaults for run-distributed: the local servers (PostgreSQL trust auth, RabbitMQ guest/guest).
# Each can be overridden from the environment or the command line (make run-distributed GUANJIA_AMQP_URL=...).
DIST_DATABASE_URL = postgresql+psycopg://postgres@127.0.0.1:5432/guanjia_{service}
DIST_AMQP_URL = amqp://guest:guest@127.0.0.1:5672/%2F

.PHONY: venv run run-distributed test lint bench fuzz clean distclean

venv: $(STAMP) $(NODE_STAMP)

# Reinstalls only when a requirements file, the constraints or a pyproject.toml changed.
$(STAMP): $(REQUIREMENTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_INSTALL_ARGS)
	touch $(STAMP)

$(NODE_STAMP): tests/asyncapi/package.json tests/asyncapi/package-lock.json
	npm ci --prefix tests/asyncapi --no-audit --no-fund --ignore-scripts
	touch $(NODE_STAMP)

run: venv
	$(BIN)/guanjia run --demo

run-distributed: venv
	db='$(DIST_DATABASE_URL)'; amqp='$(DIST_AMQP_URL)'; \
	GUANJIA_DATABASE_URL="$${GUANJIA_DATABASE_URL:-$$db}" \
	GUANJIA_AMQP_URL="$${GUANJIA_AMQP_URL:-$$amqp}" \
	$(BIN)/guanjia run --distributed --demo

test: venv
	$(BIN)/python -m pytest -q

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

bench: venv
	$(BIN)/python bench/run.py

fuzz: venv
	$(BIN)/python bench/fuzz.py

clean:
	rm -rf var .pytest_cache .ruff_cache .import_linter_cache build dist
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
	find . -path ./$(VENV) -prune -o -type d -name '*.egg-info' -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
