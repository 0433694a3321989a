"""The own-data cross-validation trains each fold as the shipped model is trained: our own
examples count as ours, the examples generated from public data sets as theirs."""

from __future__ import annotations

from pathlib import Path

from bench.nlu.own import fold_training_files
from bench.nlu.pipeline import quiet_rasa

OWN = """version: "3.1"
nlu:
- intent: make_payment
  examples: |
    - can i pay what i owe now
    - i want to clear my arrears
- lookup: employer
  examples: |
    - Leeds City Council
"""
PUBLIC = """version: "3.1"
nlu:
- intent: make_payment
  metadata:
    source: public
  examples: |
    - how do i top up
    - i need to make a payment
"""


def sources_by_text(paths: list[Path]) -> dict[str, str | None]:
    """Each training example's text and the `source` its intent block names, as Rasa loads
    the folder the paths are gathered into."""
    from rasa.shared.nlu.constants import METADATA, METADATA_INTENT
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData

    with quiet_rasa():
        data = TrainingData().merge(*[load_data(str(path)) for path in paths])
    return {m.get("text"): ((m.get(METADATA) or {}).get(METADATA_INTENT) or {}).get("source")
            for m in data.intent_examples}


def test_a_folds_own_examples_do_not_take_the_public_examples_source(tmp_path: Path) -> None:
    from rasa.shared.nlu.training_data.loading import load_data

    (tmp_path / "payments.yml").write_text(OWN)
    public = tmp_path / "public.yml"
    public.write_text(PUBLIC)
    with quiet_rasa():
        own = load_data(str(tmp_path / "payments.yml"))
    # The fold trains on one of the two own examples.
    paths = fold_training_files(own, own.intent_examples[:1], [public], tmp_path / "fold0")

    assert sources_by_text(paths) == {
        "can i pay what i owe now": None,
        "how do i top up": "public",
        "i need to make a payment": "public",
    }
    # The lookup table goes with the fold's own examples.
    with quiet_rasa():
        fold = load_data(str(paths[0]))
    assert [table["name"] for table in fold.lookup_tables] == ["employer"]
