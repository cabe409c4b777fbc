# syntax=docker/dockerfile:1
#
# One image for every server role of couponrush; the role is the command:
#   app        serve (granian running the ASGI app)
#   migrate    db upgrade
#   consumer   consume --metrics-port 9100
#   relay      relay --metrics-port 9100
#   reconcile  reconcile EVENT
# Secrets and addresses come from the environment at run time (COUPONRUSH_*), never
# from the image.

# Both stages share one interpreter, so the virtual environment built in the first runs
# unchanged in the second. A tag, not a digest: bump it on purpose, with the lock files.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build

# The hash-pinned lock of what the server needs: a complete closure, one file.
# The default carries the Kafka client (compose and Kubernetes run in Kafka mode);
# --build-arg REQUIREMENTS=requirements/main.txt gives a stream-mode-only image.
ARG REQUIREMENTS=requirements/kafka.txt

ENV PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /build
RUN python -m venv /opt/venv

# Every dependency is checked against its pinned hash, and only wheels are taken: no
# compiler is needed and no sdist runs code at build time.
COPY ${REQUIREMENTS} requirements.txt
RUN /opt/venv/bin/pip install --no-cache-dir --require-hashes --no-deps \
        --only-binary=:all: -r requirements.txt

# The project itself is not on an index and has no hash; it is built by the setuptools
# the lock already put into the venv, so nothing unpinned is fetched for the build.
COPY pyproject.toml README.md ./
COPY src/ src/
# The package's nginx template, its Lua side and the alert rules are symlinks to these:
# without them the wheel lacks them.
COPY deploy/nginx/couponrush.conf.template deploy/nginx/
COPY deploy/nginx/lua deploy/nginx/lua
COPY deploy/prometheus/alerts.yml deploy/prometheus/
RUN /opt/venv/bin/pip install --no-cache-dir --no-deps --no-build-isolation .


FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="couponrush" \
      org.opencontainers.image.description="First-come-first-served coupon issuance" \
      org.opencontainers.image.licenses="MIT"

# A fixed uid, so Kubernetes' runAsNonRoot can verify it and volumes can be owned by it.
ARG UID=10001
RUN groupadd --system --gid "${UID}" couponrush \
    && useradd --system --uid "${UID}" --gid couponrush --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin couponrush \
    && install -d -o couponrush -g couponrush -m 0700 /tmp/couponrush-metrics

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
