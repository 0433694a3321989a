# syntax=docker/dockerfile:1
# The records API: FastAPI under uvicorn on port 8000, and the same image runs the schema
# upgrade (`python -m api.cli db upgrade`) and the outbox sender (`... email send-outbox`).
# Build from the repository root (docs/deployment.md):
#   docker build -f deploy/docker/api.Dockerfile -t registry.example.org/memberdesk/api:TAG .
# No secret is read at build time: everything comes from the environment when it runs.

# The console's htmx, from package-lock.json as `make setup` installs it.
FROM node:20-bookworm-slim AS browser
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# .venv/api exactly as scripts/setup.sh builds it from the pins, less the test tools.
FROM python:3.10-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY requirements/api.txt requirements/api.txt
COPY deploy/docker/api-dev-only.txt deploy/docker/api-dev-only.txt
RUN python -m venv /app/.venv/api \
    && /app/.venv/api/bin/python -m pip install --upgrade "pip<25" \
    && /app/.venv/api/bin/python -m pip install -r requirements/api.txt \
    && /app/.venv/api/bin/python -m pip uninstall --yes $(grep -v '^#' deploy/docker/api-dev-only.txt)

FROM python:3.10-slim-bookworm AS runtime
ENV PATH=/app/.venv/api/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
RUN groupadd --system --gid 10001 memberdesk \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin memberdesk
WORKDIR /app
COPY --from=build /app/.venv/api /app/.venv/api
COPY --from=browser /app/node_modules /app/node_modules
COPY api/ /app/api/
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/v1/health', timeout=4)"]
# uvicorn with MEMBERDESK_API_WORKERS worker processes (api/serve.py): one process uses one
# core, so production runs two unless the deployment says otherwise.
ENV MEMBERDESK_API_WORKERS=2
CMD ["python", "-m", "api.serve", "--host", "0.0.0.0", "--port", "8000"]
