# Newsdesk API image. Build: docker build -t newsdesk .   Run: docker run -p 8000:8000 newsdesk
# BASE can be any Debian-like image with python3 and its venv module (python:3.12-slim by default).
ARG BASE=python:3.12-slim

FROM ${BASE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /srv/newsdesk
RUN python3 -m venv /opt/venv
COPY pyproject.toml README.md constraints.txt ./
# Editable install: the code stays at /srv/newsdesk, where the app finds alembic.ini and
# migrations/. Installed against an empty package first, so the dependencies get a layer of
# their own that a change to the code alone doesn't rebuild.
RUN mkdir app && touch app/__init__.py \
    && /opt/venv/bin/python -m pip install -c constraints.txt -e '.[nlp,postgres]'
COPY alembic.ini ./
COPY migrations ./migrations
COPY app ./app
# Compiled once here: the image runs with PYTHONDONTWRITEBYTECODE, and compiling the app's
# modules at each start would add some 0.3 s to it.
RUN /opt/venv/bin/python -m compileall -q app migrations

FROM ${BASE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATA_DIR=/srv/newsdesk/data \
    DATABASE_URL=sqlite:////var/lib/newsdesk/newsdesk.db
# Fixed numeric ids, so USER below resolves the same on any host and volume owners match.
RUN groupadd --gid 10001 newsdesk \
    && useradd --no-log-init --uid 10001 --gid 10001 --home-dir /srv/newsdesk --no-create-home \
        --shell /usr/sbin/nologin newsdesk \
    && mkdir -p /var/lib/newsdesk \
    && chown 10001:10001 /var/lib/newsdesk
COPY --from=build /opt/venv /opt/venv
COPY --from=build /srv/newsdesk /srv/newsdesk
WORKDIR /srv/newsdesk
COPY data ./data
USER 10001:10001
EXPOSE 8000
VOLUME ["/var/lib/newsdesk"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
# Migrate, ingest data/articles (idempotent: unchanged files are skipped), then serve.
CMD ["newsdesk", "up", "--host", "0.0.0.0", "--port", "8000"]
