# The one front door: `make demo` runs a flash sale, `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# command=Debian package, installed when the command is missing (a path pattern: when no
# file matches it; nginx's Lua module, the JSON library its Lua code reads the feed with and
# the Redis client of its win lane;
# a Korean font, so that chromium draws the Korean pages)
SYSTEM_PACKAGES := redis-server=redis-server redis-cli=redis-tools nginx=nginx-light wrk=wrk \
	/usr/lib/postgresql/*/bin/initdb=postgresql chromium=chromium prometheus=prometheus \
	promtool=prometheus prometheus-redis-exporter=prometheus-redis-exporter \
	prometheus-postgres-exporter=prometheus-postgres-exporter \
	/usr/lib/nginx/modules/ngx_http_lua_module.so=libnginx-mod-http-lua \
	/usr/lib/*/lua/5.1/cjson.so=lua-cjson /usr/share/lua/5.1/nginx/redis.lua=lua-nginx-redis \
	/usr/share/lua/5.1/nginx/redis/sentinel.lua=lua-nginx-redis-connector luacheck=lua-check \
	java=openjdk-17-jre-headless mvn=maven \
	podman=podman runc=runc catatonit=catatonit /usr/lib/podman/netavark=netavark /usr/lib/podman/aardvark-dns=aardvark-dns \
	mmdebstrap=mmdebstrap podman-compose=podman-compose nft=nftables \
	/usr/share/fonts/truetype/nanum/NanumGothic.ttf=fonts-nanum
PIP_COMPILE := CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes \
	--allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links --no-emit-trusted-host

.PHONY: install system-packages kafka-fetch up down demo test lint unit bench lock clean \
	images compose-env compose-up compose-down compose-test kube-test

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

# Container images (podman here, docker where its daemon runs; docs/deployment.md):
# couponrush:local and couponrush-gateway:local, then the stores' images from Debian's
# packages for compose where no registry serves them. Each one's size is printed.
images: install
	$(BIN)/couponrush images --stores

# deploy/compose.yaml on this host (deploy/compose.env is written with fresh secrets when
# missing); compose-down leaves no container, volume or network of it behind.
compose-env: install
	$(BIN)/couponrush compose env

compose-up: images compose-env
	$(BIN)/couponrush compose up

compose-down:
	@test -x $(BIN)/couponrush && $(BIN)/couponrush compose down || true

# The whole compose stack raced through its gateway, with an app container and the Redis
# primary of the event's slot killed mid-burst (make test runs a smaller one).
compose-test: images
	$(BIN)/couponrush compose race

# The Kubernetes manifests' workloads played by podman kube play (deploy/k8s/overlays/podman)
# and raced the same way; make test runs it too.
kube-test: images
	$(BIN)/couponrush kube race

down:
	@test -x $(BIN)/couponrush && $(BIN)/couponrush down || true

demo: install
	$(BIN)/couponrush demo

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	luacheck --quiet --no-color deploy/nginx/lua src/couponrush/store/lua bench

test: lint
	$(BIN)/pytest

unit: install
	$(BIN)/pytest tests/unit

bench: install
	$(BIN)/python -m bench.issue_path.run

lock: install
	$(PIP_COMPILE) --only-build-deps --build-deps-for wheel -o requirements/build.txt \
		pyproject.toml
	$(PIP_COMPILE) -o requirements/image.txt requirements/image.in
	$(PIP_COMPILE) -o requirements/main.txt pyproject.toml
	$(PIP_COMPILE) --extra kafka -o requirements/kafka.txt pyproject.toml
	$(PIP_COMPILE) --extra rush -o requirements/rush.txt pyproject.toml
	$(PIP_COMPILE) --extra kafka --extra rush --extra dev -o requirements/dev.txt pyproject.toml

clean: down
	rm -rf var .mypy_cache .ruff_cache .pytest_cache .hypothesis
