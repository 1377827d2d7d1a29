# Newsdesk API image. Build: docker build -t newsdesk .   Run: docker run -p 8000:8000 newsdesk
# BASE can be any Debian-like image with python3 and its venv module (python:3.12-slim by default).
ARG BASE=python:3.12-slim

FROM ${BASE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /srv/newsdesk
RUN python3 -m venv /opt/venv
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
# Editable install: the code stays at /srv/newsdesk, where the app finds its migrations.
RUN /opt/venv/bin/python -m pip install -e '.[nlp,postgres]'

FROM ${BASE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATA_DIR=/srv/newsdesk/data \
    DATABASE_URL=sqlite:////var/lib/newsdesk/newsdesk.db
RUN useradd --system --uid 10001 --user-group --home-dir /srv/newsdesk --no-create-home newsdesk \
    && mkdir -p /var/lib/newsdesk \
    && chown newsdesk:newsdesk /var/lib/newsdesk
COPY --from=build /opt/venv /opt/venv
COPY --from=build /srv/newsdesk /srv/newsdesk
WORKDIR /srv/newsdesk
COPY data ./data
USER newsdesk
EXPOSE 8000
VOLUME ["/var/lib/newsdesk"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
# Migrate, ingest data/articles (idempotent: unchanged files are skipped), then serve.
CMD ["newsdesk", "up", "--host", "0.0.0.0", "--port", "8000"]
