# The noots image: every component of the landscape runs from it as `noots serve <component>`.
# docker-compose.yml (generated from landscape.yaml by `noots compose`) starts one container per
# component; the data directory (PKI, population, SQLite logs) is the volume at /data, created
# once by the compose file's `bootstrap` service. No key or certificate is ever baked in.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NOOTS_XSD_DIR=/opt/noots/xsd \
    NOOTS_TOPOLOGY=/etc/noots/landscape.yaml \
    NOOTS_DATA_DIR=/data

WORKDIR /opt/noots

# The package (pure Python on wheels: lxml, cryptography and uvloop bring their own libraries).
COPY pyproject.toml README.md LICENSE ./
COPY noots ./noots
COPY registers ./registers
COPY intermediary ./intermediary
COPY consumers ./consumers
RUN pip install --no-cache-dir . \
    && rm -rf /opt/noots/noots /opt/noots/registers /opt/noots/intermediary /opt/noots/consumers

# The project's own schemas and the default topology (compose mounts the same file over it).
COPY xsd ./xsd
COPY landscape.yaml /etc/noots/landscape.yaml

# An unprivileged user owns the data directory; a fresh named volume inherits the ownership.
RUN groupadd --system --gid 10001 noots \
    && useradd --system --uid 10001 --gid noots --home-dir /home/noots --create-home noots \
    && mkdir -p /data \
    && chown noots:noots /data
USER noots:noots
VOLUME ["/data"]

EXPOSE 8400
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-m", "noots.healthcheck"]
CMD ["noots", "serve", "platform", "--host", "0.0.0.0"]
