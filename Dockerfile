# Tween: slim Python, dependencies in their own layer, a non-root user, the database on a volume.
FROM python:3.11-slim AS deps
WORKDIR /src
COPY pyproject.toml ./
# Only the runtime dependencies, read from pyproject.toml; the code itself runs from /app.
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml','rb'))['project']['dependencies']))" \
        > requirements.txt \
    && pip install --no-cache-dir --prefix=/install -r requirements.txt

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=/app TWEEN_DB_PATH=/data/tween.sqlite3
COPY --from=deps /install /usr/local
RUN useradd --system --uid 10001 --home-dir /app tween && mkdir -p /data && chown tween /data
WORKDIR /app
COPY config ./config
COPY bot ./bot
COPY cogs ./cogs
USER tween
VOLUME ["/data"]
ENTRYPOINT ["python", "-m", "bot"]
