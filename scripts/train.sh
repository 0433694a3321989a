#!/usr/bin/env bash
# Trains the assistant when its data, domain or configuration changed since the last training
# (and only then): models/memberdesk.tar.gz is the model `make run` and the tests load.
set -euo pipefail
cd "$(dirname "$0")/.."

model=models/memberdesk.tar.gz
stamp_file=models/.trained-from
inputs() {
  local paths=() path
  for path in config.yml bot/domain data bot/nlu; do
    [ -e "$path" ] && paths+=("$path")
  done
  find "${paths[@]}" -type f \( -name '*.yml' -o -name '*.py' \) | LC_ALL=C sort
}
stamp=$(inputs | xargs sha256sum | sha256sum | cut -c1-16)

if [ -f "$model" ] && [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$stamp" ]; then
  echo "train: the model is up to date"
  exit 0
fi
echo "train: training the assistant (data, domain or config changed)"
mkdir -p models
# Rasa's usage reports and crash reports go to Rasa's servers unless turned off: members' data
# never leaves the organisation's machines.
export RASA_TELEMETRY_ENABLED=${RASA_TELEMETRY_ENABLED:-false}
# A small fixed thread pool: TensorFlow's default oversubscribes a two-core machine.
export TF_INTRA_OP_PARALLELISM_THREADS=${TF_INTRA_OP_PARALLELISM_THREADS:-2}
export TF_INTER_OP_PARALLELISM_THREADS=${TF_INTER_OP_PARALLELISM_THREADS:-1}
start=$(date +%s)
# Trained beside the current model and renamed over it, so a running server or a test that
# starts one never loads a half-written file, and a failed training leaves the old model.
rm -rf models/.training
.venv/bot/bin/rasa train --domain bot/domain --config config.yml --data data \
  --out models/.training --fixed-model-name memberdesk --quiet
mv models/.training/memberdesk.tar.gz "$model"
rm -rf models/.training
echo "$stamp" > "$stamp_file"
echo "train: done in $(( $(date +%s) - start )) s"
