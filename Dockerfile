# syntax=docker/dockerfile:1
#
# One image for every server role of couponrush; the role is the command:
#   app        serve (granian running the app under RSGI)
#   migrate    db upgrade
#   consumer   consume --metrics-port 9100
#   relay      relay --metrics-port 9100
#   reconcile  reconcile EVENT
# Secrets and addresses come from the environment at run time (COUPONRUSH_*), never
# from the image.
#
# Debian's Python 3.11 in both stages, so the virtual environment built in the first runs
# unchanged in the second. The base is pulled where a registry serves it, or made locally
# from Debian's packages under the same name (`make images`, docs/deployment.md).
ARG BASE_IMAGE=debian:bookworm-slim

FROM ${BASE_IMAGE} AS build

RUN apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /build

# The build's own tools: setuptools from its hash-pinned lock (Debian's python3-venv would
# bring 65.5, which refuses pyproject's `license = "MIT"`). They stay in this stage.
COPY requirements/build.txt build.txt
RUN python3 -m venv /opt/build \
    && /opt/build/bin/pip install -q --require-hashes --no-deps --only-binary=:all: -r build.txt

# The runtime environment has no pip: the build stage's pip installs into it. Every
# dependency is checked against its pinned hash and only wheels are taken, so no compiler
# is needed and no sdist runs code. The default lock carries the Kafka client (compose
# and Kubernetes run in Kafka mode); --build-arg REQUIREMENTS=requirements/main.txt gives
# a stream-mode-only image.
# requirements/image.txt adds what Debian's Python 3.11.2 needs beyond the lock.
ARG REQUIREMENTS=requirements/kafka.txt
COPY ${REQUIREMENTS} requirements.txt
COPY requirements/image.txt image.txt
RUN python3 -m venv --without-pip /opt/venv \
    && /opt/build/bin/pip --python /opt/venv/bin/python install -q --require-hashes \
        --no-deps --only-binary=:all: -r requirements.txt -r image.txt

# The project itself, built as a wheel by the pinned setuptools (nothing unpinned is
# fetched for the build).
COPY pyproject.toml README.md ./
COPY src/ src/
# The package's nginx template, its Lua side, the Kafka pom and the alert rules are
# symlinks to these: without them the wheel lacks them.
COPY deploy/nginx/couponrush.conf.template deploy/nginx/
COPY deploy/nginx/lua deploy/nginx/lua
COPY deploy/prometheus/alerts.yml deploy/prometheus/
COPY deploy/kafka/pom.xml deploy/kafka/
RUN /opt/build/bin/pip wheel -q --no-deps --no-build-isolation -w /wheels . \
    && /opt/build/bin/pip --python /opt/venv/bin/python install -q --no-deps /wheels/*.whl


FROM ${BASE_IMAGE} AS runtime

LABEL org.opencontainers.image.title="couponrush" \
      org.opencontainers.image.description="First-come-first-served coupon issuance" \
      org.opencontainers.image.licenses="MIT"

# The interpreter only: no pip, no compiler, no headers.
RUN apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends python3 \
    && rm -rf /var/lib/apt/lists/*

# A fixed uid, so Kubernetes' runAsNonRoot can verify it and volumes can be owned by it.
# The working folder exists in the image: a runtime that would make it at start cannot
# on a read-only root (podman kube play refuses to start the container).
ARG UID=10001
RUN groupadd --system --gid "${UID}" couponrush \
    && useradd --system --uid "${UID}" --gid couponrush --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin couponrush \
    && install -d -o couponrush -g couponrush -m 0700 /tmp/couponrush-metrics \
    && install -d -m 0755 /srv/couponrush

COPY --from=build /opt/venv /opt/venv

# The app's granian workers are separate processes; prometheus_client sums their counters
# through files in this folder. Orchestrators mount a fresh empty volume over it.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/couponrush-metrics

# No state lives here: the CLI's local-stack files (./var) are never used in a container.
WORKDIR /srv/couponrush
USER ${UID}:${UID}
EXPOSE 8000

# Liveness of the app role. The pipeline roles serve no HTTP on 8000: compose overrides
# this with a probe of their metrics port, and one-shot roles (migrate, reconcile)
# disable it. Kubernetes ignores it and uses the probes in deploy/k8s.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["/opt/venv/bin/python", "-c", "import urllib.request as r; r.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]

ENTRYPOINT ["couponrush"]
CMD ["--help"]
