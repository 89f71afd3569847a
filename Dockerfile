# syntax=docker/dockerfile:1
# modelcache-exporter, the sidecar image. From the repository root:
#
#   docker build -t modelcache-exporter:0.1.0 --build-arg REVISION="$(git rev-parse HEAD)" .
#   docker run --read-only --tmpfs /tmp -p 127.0.0.1:10860:10860 \
#     -v hf-cache:/cache/huggingface:ro -v modelcache-state:/var/lib/modelcache-exporter modelcache-exporter:0.1.0
#
# The build steps live in deploy/docker/build-steps.sh; tests/test_docker.py runs them in fresh venvs and checks
# this file (multi-stage, non-root, exec-form entrypoint, health check, labels), as CI has no Docker engine.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY deploy/docker/build-steps.sh /usr/local/bin/build-steps
COPY pyproject.toml README.md ./
COPY modelcache_exporter ./modelcache_exporter
RUN sh /usr/local/bin/build-steps wheel /src /wheels

FROM ${PYTHON_IMAGE} AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="modelcache-exporter" \
      org.opencontainers.image.description="Prometheus exporter and alerting sidecar for Hugging Face / ModelScope model caches (IndexTTS2 and other model servers)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/modelcache-exporter/modelcache-exporter" \
      org.opencontainers.image.documentation="https://github.com/modelcache-exporter/modelcache-exporter#readme"
# No .pyc writes (the root filesystem may be read-only); the ledger and log positions go to the state volume;
# the hub cache is expected at /cache/huggingface/hub (mount the cache volume read-only at /cache/huggingface);
# listen on all interfaces, as a container must (the exporter's own default is loopback only). Change the port
# with MODELCACHE_WEB_LISTEN_ADDRESS, which the health check reads too.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/var/lib/modelcache-exporter \
    HF_HOME=/cache/huggingface \
    MODELCACHE_PATH_STATE=/var/lib/modelcache-exporter \
    MODELCACHE_WEB_LISTEN_ADDRESS=:10860
COPY --from=build /wheels /tmp/wheels
COPY deploy/docker/build-steps.sh /usr/local/bin/build-steps
RUN sh /usr/local/bin/build-steps install /tmp/wheels \
 && rm -rf /tmp/wheels /usr/local/bin/build-steps \
 && groupadd --system --gid 10860 modelcache \
 && useradd --system --uid 10860 --gid 10860 --no-create-home --home-dir /var/lib/modelcache-exporter \
      --shell /usr/sbin/nologin modelcache \
 && install -d -o 10860 -g 10860 -m 0750 /var/lib/modelcache-exporter
USER 10860:10860
WORKDIR /var/lib/modelcache-exporter
VOLUME ["/var/lib/modelcache-exporter"]
EXPOSE 10860
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('MODELCACHE_WEB_LISTEN_ADDRESS', ':10860').rsplit(':', 1)[1]; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)"]
ENTRYPOINT ["modelcache-exporter"]
