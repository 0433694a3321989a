"""Others' words: the assistant scored on member requests written by other people.

Our held-out set was written by the same hands as the training data. This evaluation takes the
*test* splits of Banking77 and CLINC150, maps each category to our intents through
bench/nlu/public_mapping.yml (everything unmapped is out of scope), and asks each system what
it makes of them. A request is right when the intent after the fallback threshold is the
mapped intent (or one the mapping also accepts); an out-of-scope request is right only when
the assistant says it cannot help (`out_of_scope`): a fallback ("sorry, I didn't understand")
or a guess at one of our flows is wrong. Nothing here is trained or tuned on: the training
data comes from the training splits (scripts/generate_nlu_from_public.py).

The same rows are scored again with a typo in every word of four letters or more (one random
insertion, deletion, substitution or swap of neighbours, the same ones every run).
"""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bench.nlu.data import load_banking77, load_clinc150

MAPPING = Path(__file__).with_name("public_mapping.yml")
OUT_OF_SCOPE = "out_of_scope"
TYPO_SEED = 77
LETTERS = "abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class Request:
    """One test-split text, what it means in our intents, and where it came from."""

    text: str
    intent: str
    accepted: frozenset[str]
    source: str  # "banking77" or "clinc150"


def load_mapping(path: Path = MAPPING) -> dict[str, dict[str, dict[str, Any]]]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def others_words(datasets: Path) -> list[Request]:
    """Banking77's and CLINC150's test splits (CLINC150's out-of-scope test rows too), mapped."""
    mapping = load_mapping()
    clinc = load_clinc150(datasets / "clinc150")
    splits = {
        "banking77": load_banking77(datasets / "banking77")["test"],
        "clinc150": clinc["test"] + clinc["oos_test"],
    }
    requests = []
    for source, rows in splits.items():
        for text, category in rows:
            entry = mapping[source].get(category)
            intent = str(entry["intent"]) if entry else OUT_OF_SCOPE
            accepted = frozenset([intent, *((entry or {}).get("also") or [])])
            requests.append(Request(text, intent, accepted, source))
    return requests


def with_typos(text: str, rng: random.Random) -> str:
    """`text` with one random edit in every word of four letters or more."""

    def edit(match: re.Match[str]) -> str:
        word = match.group(0)
        at = rng.randrange(len(word))
        kind = rng.choice(("insert", "delete", "substitute", "swap"))
        if kind == "insert":
            return word[:at] + rng.choice(LETTERS) + word[at:]
        if kind == "delete":
            return word[:at] + word[at + 1:]
        if kind == "substitute":
            return word[:at] + rng.choice(LETTERS.replace(word[at].lower(), "")) + word[at + 1:]
        at = min(at, len(word) - 2)
        return word[:at] + word[at + 1] + word[at] + word[at + 2:]

    return re.sub(r"[A-Za-z]{4,}", edit, text)


def typo_texts(requests: Sequence[Request]) -> list[str]:
    rng = random.Random(TYPO_SEED)
    return [with_typos(r.text, rng) for r in requests]


def score(requests: Sequence[Request], predicted: Sequence[str]) -> dict[str, Any]:
    """Accuracy over all rows, our requests, out-of-scope rows, each source, each intent."""
    right = [p in r.accepted for r, p in zip(requests, predicted, strict=True)]

    def share(rows: list[bool]) -> float:
        return round(sum(rows) / len(rows), 4) if rows else 0.0

    by_intent: dict[str, list[bool]] = defaultdict(list)
    by_source: dict[str, list[bool]] = defaultdict(list)
    for request, ok in zip(requests, right, strict=True):
        by_intent[request.intent].append(ok)
        by_source[request.source].append(ok)
    ours = [ok for r, ok in zip(requests, right, strict=True) if r.intent != OUT_OF_SCOPE]
    mistakes = Counter((r.intent, p) for r, p, ok in zip(requests, predicted, right, strict=True)
                       if not ok)
    return {
        "accuracy": share(right),
        "our_requests": share(ours),
        "out_of_scope": share(by_intent[OUT_OF_SCOPE]),
        "by_source": {source: share(rows) for source, rows in sorted(by_source.items())},
        "by_intent": {intent: {"recall": share(rows), "support": len(rows)}
                      for intent, rows in sorted(by_intent.items())},
        "confusions": [{"intent": g, "predicted": p, "count": n}
                       for (g, p), n in mistakes.most_common(10)],
    }


def own_examples(paths: Sequence[Path]) -> list[tuple[str, str]]:
    """(text, intent) of every example in the given Rasa NLU files."""
    from rasa.shared.nlu.training_data.loading import load_data

    from bench.nlu.pipeline import quiet_rasa

    examples = []
    for path in paths:
        with quiet_rasa():
            data = load_data(str(path))
        examples += [(m.get("text"), m.get("intent")) for m in data.intent_examples
                     if m.get("text")]
    return examples


def last_release(pipeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The pipeline as the last release shipped it (2026-12-03): the same steps and the same
    public data, without the spelling corrector."""
    return [dict(step) for step in pipeline
            if not step["name"].endswith(("SpellingCorrector", "TypoCopies"))]


def run_others_words(systems: dict[str, dict[str, Any]], requests: list[Request], work: Path
                     ) -> dict[str, Any]:
    """Trains each system on its own data files and scores the clean and the typo texts.

    `systems` maps a name to {"pipeline": [...], "files": [...]} for a Rasa pipeline, or to
    {"predictor": tfidf_logreg_predictor, "files": [...]} for a scikit-learn baseline.
    """
    from bench.nlu.pipeline import parse_all, train_nlu, write_config

    texts = {"clean": [r.text for r in requests], "typos": typo_texts(requests)}
    results = {}
    for name, system in systems.items():
        print(f"others' words: {name}", flush=True)
        folder = work / re.sub(r"\W+", "-", name)
        folder.mkdir(parents=True, exist_ok=True)
        predicted: dict[str, list[str]] = {}
        if "pipeline" in system:
            config = write_config(system["pipeline"], folder / "config.yml")
            model, train_seconds = train_nlu(config, system["files"], folder, "model")
            parse_ms = 0.0
            for variant, variant_texts in texts.items():
                parses, seconds = parse_all(model, variant_texts)
                predicted[variant] = [p.intent for p in parses]
                parse_ms = parse_ms or seconds * 1000
        else:
            examples = own_examples(system["files"])
            out = system["predictor"](examples, texts, folder)
            # No fallback: the baseline answers with its best guess, as it would serve.
            predicted = {variant: out[variant].labels for variant in texts}
            train_seconds = out["clean"].train_seconds
            parse_ms = out["clean"].parse_seconds * 1000
        clean, typos = (score(requests, predicted[v]) for v in ("clean", "typos"))
        results[name] = {"clean": clean, "typos": typos,
                         "typo_loss_points": round(100 * (clean["accuracy"]
                                                          - typos["accuracy"]), 1),
                         "train_seconds": round(train_seconds, 1),
                         "parse_ms_median": round(parse_ms, 2)}
        print(f"  {clean['accuracy']:.4f} (our requests {clean['our_requests']:.4f}, out of "
              f"scope {clean['out_of_scope']:.4f}); with typos {typos['accuracy']:.4f}",
              flush=True)
    return {"requests": len(requests),
            "our_requests": sum(r.intent != OUT_OF_SCOPE for r in requests),
            "out_of_scope": sum(r.intent == OUT_OF_SCOPE for r in requests),
            "systems": results}
