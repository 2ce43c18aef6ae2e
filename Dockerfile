# triagebot: the web service, its outbox worker and scheduler, and a Chromium for gates.
#
# Base: Debian bookworm's slim Python plus Debian's own `chromium` package, driven by the
# Playwright Python library through TRIAGEBOT_CHROMIUM_PATH. Playwright's official image
# (mcr.microsoft.com/playwright/python) ships three browsers and a full Ubuntu (over 1.5 GB);
# one distribution Chromium that Debian patches for security is a fraction of that, and it is
# the same browser the test suite drives.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Chromium pulls in its shared libraries; fonts-liberation gives pages metric-compatible fonts
# so screenshots in the evidence look like the real site.
RUN apt-get update \
    && apt-get install -y --no-install-recommends chromium fonts-liberation \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first, read from pyproject.toml and held to the tested versions in constraints.txt,
# so code changes rebuild only the last layers.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -c constraints.txt -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The Jinja templates live in /app/templates, beside the package, and are read from the
# source tree; an editable install keeps the package at /app/triagebot so they are found.
COPY . .
RUN pip install --no-deps -e .

# An unprivileged user; /data holds gate evidence (screenshots, traces) and is the volume.
RUN useradd --create-home --uid 10001 --user-group triagebot \
    && mkdir -p /data \
    && chown triagebot:triagebot /data

ENV TRIAGEBOT_MODE=production \
    TRIAGEBOT_DATA_DIR=/data \
    TRIAGEBOT_CHROMIUM_PATH=/usr/bin/chromium

USER triagebot
VOLUME ["/data"]
EXPOSE 8080

# No curl in the slim image: Python's urlopen raises on a 503, which fails the check.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]

# `serve` applies migrations before it listens (a no-op when a release step already did).
CMD ["triagebot", "serve", "--host", "0.0.0.0", "--port", "8080"]
