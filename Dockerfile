# Tween: two stages on one pinned slim Python. The first installs the runtime dependencies listed in
# pyproject.toml; the second gets only those and the code, runs as a non-root user and keeps the database on /data.
# Bump the base by changing PYTHON_IMAGE (keep it on 3.11, the version the project is tested with).
ARG PYTHON_IMAGE=python:3.11.15-slim-bookworm

FROM ${PYTHON_IMAGE} AS deps
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
COPY pyproject.toml ./
# Only [project] dependencies (not the dev extras), read from pyproject.toml; the code itself runs from /app.
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml','rb'))['project']['dependencies']))" \
        > requirements.txt \
    && pip install --no-cache-dir --prefix=/install -r requirements.txt

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="tween" \
      org.opencontainers.image.description="Discord bot: two keyframes and a prompt become a video (fal.ai Kling O1)" \
      org.opencontainers.image.version="0.1.0"
# The HTTP server listens on every interface inside the container, so the published port reaches it. Secrets are
# never baked in: DISCORD_TOKEN and FAL_KEY come from `docker run -e` or compose's env_file.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONPATH=/app \
    TWEEN_DB_PATH=/data/tween.sqlite3 \
    TWEEN_HTTP_HOST=0.0.0.0 \
    TWEEN_HTTP_PORT=8080
COPY --from=deps /install /usr/local
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin tween \
    && mkdir -p /data \
    && chown tween /data
WORKDIR /app
COPY config ./config
COPY bot ./bot
COPY cogs ./cogs
USER tween
VOLUME ["/data"]
EXPOSE 8080
# GETs http://127.0.0.1:8080/health from inside the container: 0 on 200, 1 otherwise. The start period covers
# migrations and the Discord login.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["python", "-m", "bot", "health"]
ENTRYPOINT ["python", "-m", "bot"]
# `docker run IMAGE check`, `… backup /data/x.sqlite3`, `… sync --guild ID` replace this default.
CMD ["run"]
