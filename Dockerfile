# The noots image: every component of the landscape runs from it as `noots serve <component>`.
# docker-compose.yml (generated from landscape.yaml by `noots compose`) starts one container per
# component; each has a state volume at /data and, read-only below /data/pki, its own keys and
# the trust anchor, all provided by the compose file's one-shot `bootstrap` service
# (`noots provision`). No key or certificate is ever baked in.
#
# The base: the official slim Python image. BASE_IMAGE selects another Debian-like image with
# Python 3.11 (`make compose-e2e` builds one from Debian's packages where no image registry is
# reachable).
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NOOTS_TOPOLOGY=/etc/noots/landscape.yaml \
    NOOTS_DATA_DIR=/data \
    PATH=/opt/venv/bin:$PATH

WORKDIR /opt/noots

# The package (pure Python on wheels: lxml, cryptography and uvloop bring their own libraries).
# A virtual environment: Debian's own Python (a BASE_IMAGE of its packages) refuses
# system-wide pip installs (PEP 668); with the slim image it costs nothing. PIP_CONFIG_FILE
# names a pip configuration mounted for the build only (a package mirror, say); unset, pip
# uses its defaults. The dependencies come first, in a layer of their own that a change of
# the code does not rebuild.
ARG PIP_CONFIG_FILE
COPY pyproject.toml README.md LICENSE ./
RUN python3 -m venv /opt/venv \
    && python3 -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt
COPY noots ./noots
RUN pip install --no-cache-dir --no-deps . \
    && rm -rf /opt/noots/noots /opt/noots/build /opt/noots/*.egg-info

# The default topology where NOOTS_TOPOLOGY names it (compose mounts its own file over it);
# the schemas are package data.
COPY noots/landscape/landscape.yaml /etc/noots/landscape.yaml

# An unprivileged user owns the data directory; a fresh named volume inherits the ownership.
# (The one-shot `bootstrap` runs as root only to hand each volume's files to this user.)
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
