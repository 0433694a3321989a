"""The dialogue model checked against its own data, without any server running.

- `rasa data validate` finds nothing to warn about in the domain, rules and NLU data;
- data/rules/goals.yml is what scripts/generate_rules.py makes of actions/goals.py;
- every story in tests/stories (happy and unhappy paths, one file per topic) is predicted
  exactly by a model trained on the rules (`rasa test core --fail-on-prediction-errors`).

The stories give the intent of each member message, so only the dialogue policies are trained
and tested here (NLU has its own evaluation in tests/nlu).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
STORIES = ROOT / "tests" / "stories"
DOMAIN = ROOT / "bot" / "domain"

# Lines that mean validation found something: warnings raised by Rasa about the data
# (UserWarning, FutureWarning) and its WARNING/ERROR log lines. Deprecation warnings from the
# libraries Rasa imports say nothing about the data and are silenced in `_env`.
DATA_WARNING = re.compile(r"\b(UserWarning|FutureWarning)\b|\s(WARNING|ERROR)\s")


def _env(tmp: Path) -> dict[str, str]:
    return {
        **os.environ,
        # A small fixed thread pool, as scripts/train.sh uses: the machine has two cores.
        "TF_INTRA_OP_PARALLELISM_THREADS": os.environ.get("TF_INTRA_OP_PARALLELISM_THREADS", "2"),
        "TF_INTER_OP_PARALLELISM_THREADS": os.environ.get("TF_INTER_OP_PARALLELISM_THREADS", "1"),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONWARNINGS": "ignore::DeprecationWarning",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "RASA_TELEMETRY_ENABLED": "false",
        # Our own training cache, so nothing is shared with `make train`.
        "RASA_CACHE_DIRECTORY": str(tmp / "rasa-cache"),
    }


def _rasa(*args: str, tmp: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rasa", *args],
        cwd=ROOT,
        env=_env(tmp),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _output(result: subprocess.CompletedProcess[str]) -> str:
    return f"{result.stdout}\n{result.stderr}"


def _stories() -> dict[str, list[dict]]:
    """The test stories by file name."""
    return {
        path.name: yaml.safe_load(path.read_text())["stories"]
        for path in sorted(STORIES.glob("*.yml"))
    }


def test_rasa_data_validate_is_clean(tmp_path: Path) -> None:
    result = _rasa(
        "data", "validate", "--fail-on-warnings",
        "--domain", "bot/domain", "--data", "data", "--config", "config.yml",
        tmp=tmp_path,
    )
    output = _output(result)
    # --fail-on-warnings does not cover every warning (an unused response only warns), so the
    # output is read as well.
    warnings = [line for line in output.splitlines() if DATA_WARNING.search(line)]
    assert result.returncode == 0, output[-6000:]
    assert not warnings, "rasa data validate warned:\n" + "\n".join(warnings)


# data/rules/goals.yml from actions/goals.py; data/nlu/with_details.yml from data/nlu;
# data/nlu/public.yml from the public data sets training splits.
@pytest.mark.parametrize(
    "generator",
    ["generate_rules.py", "generate_nlu_with_details.py", "generate_nlu_from_public.py"],
)
def test_generated_training_data_is_up_to_date(generator: str) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / generator), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr or result.stdout


def test_every_intent_has_a_test_story() -> None:
    intents: set[str] = set()
    for path in DOMAIN.glob("*.yml"):
        intents.update(yaml.safe_load(path.read_text()).get("intents") or [])
    in_stories = {
        step["intent"]
        for stories in _stories().values()
        for story in stories
        for step in story["steps"]
        if "intent" in step
    }
    assert intents - in_stories == set(), "intents no test story uses"
    assert in_stories - intents == set(), "intents the domain does not know"


@pytest.fixture(scope="module")
def core_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dialogue-only model trained on the domain and rules (about half a minute)."""
    folder = tmp_path_factory.mktemp("core-model")
    result = _rasa(
        "train", "core",
        "--domain", "bot/domain", "--config", "config.yml", "--stories", "data",
        "--out", str(folder), "--fixed-model-name", "core",
        tmp=folder,
    )
    model = folder / "core.tar.gz"
    assert result.returncode == 0 and model.exists(), _output(result)[-6000:]
    return model


def test_every_test_story_is_predicted_exactly(core_model: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    result = _rasa(
        "test", "core", "--model", str(core_model), "--stories", "tests/stories",
        "--fail-on-prediction-errors", "--out", str(results),
        tmp=tmp_path,
    )
    output = _output(result)
    if result.returncode != 0:
        # --fail-on-prediction-errors stops at the first wrong prediction without writing a
        # report: run again without it to show every failed story, each wrong step marked
        # "# predicted: ...".
        _rasa(
            "test", "core", "--model", str(core_model), "--stories", "tests/stories",
            "--out", str(results), tmp=tmp_path,
        )
        failed = results / "failed_test_stories.yml"
        report = failed.read_text() if failed.exists() else output[-6000:]
        pytest.fail(f"rasa test core failed ({result.returncode}):\n{report}", pytrace=False)

    count = sum(len(stories) for stories in _stories().values())
    assert f"Evaluating {count} stories" in output, output[-6000:]
