#!/usr/bin/env bash
# The whole suite: the records API tests (SQLite and PostgreSQL) in the API environment, then
# the bot-side tests in the bot environment. Exits non-zero if either fails.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0

# The same folders `make lint` checks (LINT_PATHS in the Makefile).
make --no-print-directory ruff || status=1
.venv/api/bin/python -m pytest tests/api -m "not slow" "$@" || status=1
if [ -d tests/bot ] && ls tests/bot/test_*.py >/dev/null 2>&1; then
  .venv/bot/bin/python -m pytest tests/bot "$@" || status=1
fi
exit $status
