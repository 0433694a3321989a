"""Training an NLU pipeline and parsing with it through Rasa, quietly."""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[2]
FALLBACK_INTENT = "nlu_fallback"


def project_pipeline() -> list[dict[str, Any]]:
    """The pipeline section of the project's config.yml."""
    return yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))["pipeline"]


def write_config(pipeline: list[dict[str, Any]], path: Path) -> Path:
    """A Rasa config file holding just `pipeline`."""
    config = {"recipe": "default.v1", "language": "en", "pipeline": pipeline}
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def with_epochs(pipeline: list[dict[str, Any]], epochs: int) -> list[dict[str, Any]]:
    """A copy of `pipeline` with every component that has epochs set to `epochs`."""
    return [{**step, "epochs": epochs} if "epochs" in step else dict(step) for step in pipeline]


@contextmanager
def quiet_rasa() -> Iterator[None]:
    """Rasa and TensorFlow log a great deal; the benchmark prints its own progress."""
    import rasa.utils.common
    from rasa.utils.log_utils import configure_structlog

    logging.disable(logging.WARNING)
    rasa.utils.common.configure_library_logging()
    # Rasa 3.6 logs every parse through structlog at debug level unless told otherwise.
    configure_structlog(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            yield
        finally:
            logging.disable(logging.NOTSET)


def train_nlu(config: Path, nlu: Path | Sequence[Path], out: Path, name: str) -> tuple[Path, float]:
    """Trains an NLU-only model; returns its path and the wall-clock seconds it took."""
    from rasa.model_training import train_nlu as rasa_train_nlu

    if isinstance(nlu, Path):
        nlu_data = nlu
    else:
        # Rasa's train_nlu takes one path: several files are gathered into one folder.
        nlu_data = out / f"{name}-nlu"
        nlu_data.mkdir(parents=True, exist_ok=True)
        for path in nlu:
            shutil.copyfile(path, nlu_data / path.name)
    start = time.perf_counter()
    with quiet_rasa():
        model = rasa_train_nlu(str(config), str(nlu_data), str(out), fixed_model_name=name)
    seconds = time.perf_counter() - start
    if model is None:
        raise RuntimeError(f"training {name} with {config} produced no model")
    return Path(model), seconds


@dataclass
class Parse:
    """What the trained pipeline said about one message."""

    intent: str  # after FallbackClassifier: may be nlu_fallback
    top_intent: str  # the classifier's best guess, ignoring the fallback
    confidence: float  # the classifier's confidence in top_intent
    entities: list[tuple[str, int, int]]


def parse_all(model: Path, texts: Sequence[str]) -> tuple[list[Parse], float]:
    """Parses every text with the model; returns the parses and the median seconds per text."""
    from rasa.core.agent import Agent

    with quiet_rasa():
        agent = Agent.load(str(model))

    async def run() -> tuple[list[Parse], list[float]]:
        parses, seconds = [], []
        for text in texts:
            start = time.perf_counter()
            result = await agent.parse_message(text)
            seconds.append(time.perf_counter() - start)
            ranking = [r for r in result.get("intent_ranking", [])
                       if r["name"] != FALLBACK_INTENT]
            top = ranking[0] if ranking else {"name": "", "confidence": 0.0}
            parses.append(Parse(
                intent=(result.get("intent") or {}).get("name") or "",
                top_intent=top["name"], confidence=float(top["confidence"]),
                entities=sorted((e["entity"], e["start"], e["end"])
                                for e in result.get("entities", [])),
            ))
        return parses, seconds

    with quiet_rasa():
        parses, seconds = asyncio.run(run())
    return parses, float(np.median(seconds)) if seconds else 0.0
