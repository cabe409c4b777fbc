# The one front door: `make demo` runs a flash sale, `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# command=Debian package, installed when the command is missing (a path pattern: when no
# file matches it; nginx's Lua module and the JSON library its Lua code reads the feed with)
SYSTEM_PACKAGES := redis-server=redis-server redis-cli=redis-tools nginx=nginx-light wrk=wrk \
	/usr/lib/postgresql/*/bin/initdb=postgresql chromium=chromium prometheus=prometheus \
	promtool=prometheus prometheus-redis-exporter=prometheus-redis-exporter \
	prometheus-postgres-exporter=prometheus-postgres-exporter \
	/usr/lib/nginx/modules/ngx_http_lua_module.so=libnginx-mod-http-lua \
	/usr/lib/*/lua/5.1/cjson.so=lua-cjson java=openjdk-17-jre-headless mvn=maven
PIP_COMPILE := CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes \
	--allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links --no-emit-trusted-host

.PHONY: install system-packages kafka-fetch up down demo test lint unit bench lock clean

install: system-packages $(VENV)/.installed

system-packages:
	@scripts/system-packages.sh $(SYSTEM_PACKAGES)

$(VENV)/.installed: requirements/dev.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes \
		--no-deps -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps \
		--no-build-isolation -e .
	@touch $@

# The Apache Kafka broker's jars (deploy/kafka/pom.xml) into ~/.cache/couponrush; the stack
# and the tests also fetch them on their first Kafka start.
kafka-fetch: install
	$(BIN)/couponrush kafka fetch

up: install
	$(BIN)/couponrush up

down:
	@test -x $(BIN)/couponrush && $(BIN)/couponrush down || true

demo: install
	$(BIN)/couponrush demo

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest

unit: install
	$(BIN)/pytest tests/unit

bench: install
	$(BIN)/python -m bench.issue_path.run

lock: install
	$(PIP_COMPILE) -o requirements/main.txt pyproject.toml
	$(PIP_COMPILE) --extra kafka -o requirements/kafka.txt pyproject.toml
	$(PIP_COMPILE) --extra rush -o requirements/rush.txt pyproject.toml
	$(PIP_COMPILE) --extra kafka --extra rush --extra dev -o requirements/dev.txt pyproject.toml

clean: down
	rm -rf var .mypy_cache .ruff_cache .pytest_cache .hypothesis
