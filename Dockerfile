# bantin: the bot in a container. Build: docker build -t bantin .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    BANTIN_DATA_DIR=/data BANTIN_HTTP_HOST=0.0.0.0 BANTIN_HTTP_PORT=8080
WORKDIR /app

# Pinned dependencies first (exact versions with hashes), so code changes do not reinstall them.
# deploy/install-lock never resolves: pip at the lock's version, --no-deps --require-hashes,
# then pip check.
COPY requirements.lock deploy/install-lock ./
RUN PIP_NO_CACHE_DIR=1 ./install-lock python requirements.lock && rm install-lock
COPY pyproject.toml README.md ./
COPY feeds ./feeds
COPY storage ./storage
COPY bot ./bot
COPY run_bot.py bantin.toml ./
RUN pip install --no-cache-dir --no-deps --no-build-isolation . && useradd --system --home /data bantin && mkdir -p /data && chown bantin /data

USER bantin
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD python -c "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status == 200 else 1)"
CMD ["python", "run_bot.py", "run"]
