#!/usr/bin/env bash
# Builds the virtual environments (records API, bot side, and checkov for the deployment
# tests) from the pinned requirements.
# Idempotent: an environment whose requirements have not changed is left alone, so a second
# run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python310() {
  local candidate
  for candidate in "${MEMBERDESK_PYTHON:-}" python3.10; do
    if [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1 \
       && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  local root
  root="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
  for candidate in "$root"/versions/3.10*/bin/python3.10; do
    if [ -x "$candidate" ]; then echo "$candidate"; return 0; fi
  done
  return 1
}

if ! PYTHON=$(find_python310); then
  cat >&2 <<'MSG'
memberdesk needs Python 3.10 (Rasa 3.6 supports nothing newer), and none was found on PATH
or in pyenv. Install it, then run this again:
  - with pyenv:   pyenv install 3.10
  - on Debian/Ubuntu:  apt-get install python3.10 python3.10-venv  (deadsnakes PPA on Ubuntu)
  - or point MEMBERDESK_PYTHON at a python3.10 binary.
MSG
  exit 1
fi

# pip warns about every mirror folder that lacks a package; those lines are noise.
quiet_pip() {
  "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
}

# build_env NAME REQUIREMENTS [NO-DEPS] [UNWANTED] [PROJECT]: create .venv/NAME and install when
# the pins changed; NO-DEPS is installed without dependencies, UNWANTED's packages are removed
# after, and the project itself is installed (editable) unless PROJECT is `no`.
build_env() {
  local name=$1 requirements=$2 nodeps=${3:-} unwanted=${4:-} project=${5:-yes} venv=".venv/$1"
  local stamp project_file=pyproject.toml
  if [ "$project" = no ]; then project_file=; fi
  stamp=$(cat "$requirements" $nodeps $unwanted $project_file | sha256sum | cut -c1-16)
  if [ -f "$venv/.installed" ] && [ "$(cat "$venv/.installed")" = "$stamp" ]; then
    echo "setup: $name environment is up to date"
    return 0
  fi
  echo "setup: building the $name environment with $PYTHON (a few minutes the first time)"
  [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
  quiet_pip "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "pip<25"
  quiet_pip "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
  if [ -n "$nodeps" ]; then
    quiet_pip "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$nodeps"
  fi
  if [ -n "$unwanted" ]; then
    # shellcheck disable=SC2046 # one package name per line
    quiet_pip "$venv/bin/python" -m pip uninstall --quiet --yes $(grep -v '^#' "$unwanted")
  fi
  if [ "$project" != no ]; then
    quiet_pip "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e .
  fi
  echo "$stamp" > "$venv/.installed"
}

build_env api requirements/api.txt
build_env bot requirements/bot.txt requirements/bot-nodeps.txt requirements/bot-unwanted.txt
# checkov, for tests/api/test_deployment.py: its pins clash with the records API's, and it
# needs nothing of the project's.
build_env checkov requirements/checkov.txt "" "" no

# Browser-side packages the records API and the webchat serve (package.json); a lock-file
# change reinstalls.
if [ -f package-lock.json ]; then
  if ! cmp -s package-lock.json node_modules/.memberdesk-lock; then
    echo "setup: installing browser packages (npm ci)"
    npm ci --no-audit --no-fund --silent
    cp package-lock.json node_modules/.memberdesk-lock
  fi
fi
