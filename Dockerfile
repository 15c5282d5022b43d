# syntax=docker/dockerfile:1
# The newswatch daemon as an image (see deploy/README.md):
#     docker build -t newswatch .
#     docker compose up -d
# The archive lives on the volume /data; the config is a file mounted at
# /etc/newswatch/newswatch.toml (or wherever NEWSWATCH_CONFIG points) whose
# [archive] path is on the volume: path = "/data/newswatch.db".

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# -- build: the package and its dependencies in a virtual environment ---------------
# Every dependency comes as a wheel or a pure-Python source package, so no compiler is
# needed; the build stage keeps the sources, pip's build requirements and caches out
# of the image all the same.
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY crawler ./crawler
COPY spiders ./spiders
COPY storage ./storage
COPY alerts ./alerts
RUN python -m venv /opt/newswatch \
    && /opt/newswatch/bin/pip install --no-cache-dir . \
    && /opt/newswatch/bin/newswatch --version

# -- the image ------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="newswatch" \
      org.opencontainers.image.description="News-monitoring crawler and alerts for export controls and the chip industry" \
      org.opencontainers.image.licenses="Apache-2.0"

# tini runs as PID 1: it hands SIGTERM (docker stop) to the daemon and reaps zombies,
# whatever runs the image (docker run without --init, compose, Kubernetes).
# Not pinned: the base image fixes the Debian release, and its security updates
# should be taken.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/*

# A non-root user with a fixed UID (the owner of /data on the volume).
RUN groupadd --system --gid 10001 newswatch \
    && useradd --system --uid 10001 --gid newswatch --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin newswatch \
    && mkdir -p /data /etc/newswatch \
    && chown newswatch:newswatch /data \
    && chmod 0700 /data

COPY --from=build /opt/newswatch /opt/newswatch

ENV PATH="/opt/newswatch/bin:${PATH}" \
    NEWSWATCH_CONFIG=/etc/newswatch/newswatch.toml \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

VOLUME ["/data"]
WORKDIR /data
USER 10001:10001

# The daemon stops on SIGTERM within 20 s: give it 30 (docker stop -t 30, compose's
# stop_grace_period), Docker's default of 10 s cuts its delivery short.
STOPSIGNAL SIGTERM
# Healthy (0) when the daemon runs and nothing needs attention; unhealthy (1) when no
# daemon holds the archive, a source is failing or silent, alerts are stuck... (status
# exits 2 on a config error: reported as 1, the code Docker reads as unhealthy).
HEALTHCHECK --interval=60s --timeout=30s --start-period=2m --retries=3 \
    CMD ["sh", "-c", "newswatch status --require-daemon || exit 1"]

ENTRYPOINT ["tini", "--", "newswatch"]
CMD ["run"]
