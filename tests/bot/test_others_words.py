"""The others'-words evaluation: its mapping, its typos and how it scores."""

from __future__ import annotations

import os
import random
import re
from pathlib import Path

import pytest

from bench.nlu.data import load_banking77, load_clinc150
from bench.nlu.others_words import (
    OUT_OF_SCOPE,
    Request,
    last_release,
    load_mapping,
    others_words,
    score,
    with_typos,
)

ROOT = Path(__file__).resolve().parents[2]
DATASETS = Path(os.environ.get("MEMBERDESK_DATASETS", ROOT.parent / "shared" / "datasets"))
CONTRACT = ROOT.parent / "shared" / "contract" / "intents.md"

needs_datasets = pytest.mark.skipif(not (DATASETS / "banking77").exists(),
                                    reason="the public data sets are not beside the project")


def our_intents() -> set[str]:
    if CONTRACT.exists():
        return set(re.findall(r"^\| ([a-z_]+) \|", CONTRACT.read_text(), re.MULTILINE))
    import yaml

    intents: set[str] = set()
    for path in (ROOT / "bot" / "domain").glob("*.yml"):
        intents |= {str(i) for i in (yaml.safe_load(path.read_text()) or {}).get("intents", [])}
    return intents


@needs_datasets
def test_every_mapped_category_exists_and_means_one_of_our_intents() -> None:
    categories = {
        "banking77": {label for _, label in load_banking77(DATASETS / "banking77")["test"]},
        "clinc150": {label for _, label in load_clinc150(DATASETS / "clinc150")["test"]},
    }
    intents = our_intents()
    for source, table in load_mapping().items():
        for category, entry in table.items():
            assert category in categories[source], f"{source} has no category {category}"
            named = {entry["intent"], *entry.get("also", []),
                     *(entry.get("when_text_names") or {})}
            assert named <= intents, f"{category}: {named - intents} are not our intents"
            assert entry["why"].strip(), f"{category} has no reason"


@needs_datasets
def test_unmapped_rows_are_out_of_scope_and_clinc_out_of_scope_rows_are_in() -> None:
    requests = others_words(DATASETS)
    assert len(requests) == 3080 + 4500 + 1000
    by_text = {r.text: r for r in requests}
    assert by_text["How can I edit my personal details?"].accepted >= {
        "change_personal_details", "change_address"}
    assert sum(r.intent == OUT_OF_SCOPE and r.source == "clinc150" for r in requests) > 1000
    assert {r.intent for r in requests} <= our_intents()


def test_a_typo_lands_in_every_long_word_and_nowhere_else() -> None:
    text = "I want to update my address, ok? 12 Elm Road"
    typed = with_typos(text, random.Random(1))
    words, typed_words = text.split(), typed.split()
    assert len(words) == len(typed_words)
    for word, typed_word in zip(words, typed_words, strict=True):
        letters = re.sub(r"[^A-Za-z]", "", word)
        if len(letters) >= 4:
            assert typed_word != word or sorted(typed_word) == sorted(word)
        else:
            assert typed_word == word
    assert with_typos(text, random.Random(1)) == typed  # the same typos every run


def test_out_of_scope_is_right_only_when_the_assistant_says_it_cannot_help() -> None:
    requests = [Request("top up with google pay", OUT_OF_SCOPE, frozenset([OUT_OF_SCOPE]),
                        "banking77"),
                Request("edit my details", "change_personal_details",
                        frozenset(["change_personal_details", "change_address"]), "banking77")]
    assert score(requests, ["nlu_fallback", "change_address"])["accuracy"] == 0.5
    assert score(requests, ["make_payment", "change_payment_method"])["accuracy"] == 0.0
    both = score(requests, [OUT_OF_SCOPE, "change_personal_details"])
    assert both["accuracy"] == 1.0 and both["out_of_scope"] == 1.0


def test_the_last_release_is_the_shipped_pipeline_without_the_spelling_corrector() -> None:
    from bench.nlu.pipeline import project_pipeline

    pipeline = project_pipeline()
    shipped = last_release(pipeline)
    assert any(step["name"].endswith("SpellingCorrector") for step in pipeline)
    assert not any(step["name"].endswith(("SpellingCorrector", "TypoCopies"))
                   for step in shipped)
    assert len(shipped) == len(pipeline) - 1
    assert shipped == [s for s in pipeline if not s["name"].endswith("SpellingCorrector")]
