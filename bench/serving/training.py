"""Full trainings for the serving benchmark: ours with an empty cache, and `rasa init`'s."""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.serving.stacks import TF_ENV
from harness.processes import ROOT
from tests.bot.servers import BOT_PY


def train_ours(folder: Path) -> dict[str, Any]:
    """A full training of config.yml into `folder`, with an empty cache."""
    out = folder / "models"
    env = {**os.environ, **TF_ENV, "RASA_CACHE_DIRECTORY": str(folder / "cache")}
    command = [str(BOT_PY), "-m", "rasa", "train", "--domain", "bot/domain",
               "--config", "config.yml", "--data", "data", "--out", str(out),
               "--fixed-model-name", "memberdesk", "--quiet"]
    start = time.monotonic()
    done = subprocess.run(  # noqa: S603
        command, cwd=ROOT, env=env, capture_output=True, timeout=900
    )
    seconds = round(time.monotonic() - start, 1)
    if done.returncode != 0:
        raise RuntimeError(f"rasa train failed:\n{done.stdout.decode()[-3000:]}"
                           f"{done.stderr.decode()[-3000:]}")
    model = out / "memberdesk.tar.gz"
    return {"training_seconds": seconds, "model": str(model),
            "model_mb": round(model.stat().st_size / 2**20, 1),
            "command": shlex.join(["rasa", *command[3:-5], "--out", "TMP",
                                   "--fixed-model-name", "memberdesk"])}


def init_stock(folder: Path) -> dict[str, Any]:
    """`rasa init --no-prompt` into `folder` (it trains the stock bot), timed."""
    project = folder / "stock"
    project.mkdir(parents=True)
    env = {**os.environ, **TF_ENV, "RASA_CACHE_DIRECTORY": str(project / ".rasa" / "cache")}
    command = [str(BOT_PY), "-m", "rasa", "init", "--no-prompt", "--init-dir", str(project)]
    start = time.monotonic()
    done = subprocess.run(  # noqa: S603
        command, cwd=project, env=env, capture_output=True, timeout=1200
    )
    seconds = round(time.monotonic() - start, 1)
    models = sorted((project / "models").glob("*.tar.gz"))
    if done.returncode != 0 or not models:
        raise RuntimeError(f"rasa init failed:\n{done.stdout.decode()[-3000:]}"
                           f"{done.stderr.decode()[-3000:]}")
    return {"training_seconds": seconds, "project": str(project),
            "model_mb": round(models[-1].stat().st_size / 2**20, 1),
            "command": "rasa init --no-prompt --init-dir TMP"}

