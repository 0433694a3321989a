"""The NLU benchmark's Markdown: public data sets, then the project's own data."""

from __future__ import annotations

from typing import Any


def percent(value: float) -> str:
    """0.9123 -> 91.2"""
    return f"{100 * value:.1f}"


def markdown(results: dict[str, Any]) -> str:
    """The human-readable half of the results."""
    meta = results["meta"]
    lines = [
        "## NLU",
        "",
        f"Measured {meta['date']} on {meta['machine']} with `{meta['command']}`"
        f"{' (smoke mode: tiny subsets, numbers meaningless)' if meta['smoke'] else ''}.",
        f"The project's pipeline is `config.yml`'s; stock Rasa is the `rasa init` pipeline with "
        f"DIET and ResponseSelector at {meta['stock_epochs']} epochs (100 by default)"
        f"{', left out of this run (--skip-stock)' if meta.get('stock_skipped') else ''}.",
        "",
    ]
    public = results.get("public", {})
    if "banking77" in public:
        b = public["banking77"]
        lines += [
            f"### Banking77 ({b['train_examples']} train, {b['test_examples']} test, "
            f"{b['intents']} intents)", "",
            "| system | accuracy % | macro-F1 % | training s | parse ms (median) |",
            "|---|---|---|---|---|",
        ]
        lines += [f"| {name} | {percent(s['accuracy'])} | {percent(s['macro_f1'])} | "
                  f"{s['train_seconds']} | {s['parse_ms_median']} |"
                  for name, s in b["systems"].items()]
        lines.append("")
    if "clinc150" in public:
        c = public["clinc150"]
        lines += [
            f"### CLINC150 ({c['train_examples']} train, {c['test_in_scope']} in-scope and "
            f"{c['test_out_of_scope']} out-of-scope test, {c['intents']} intents)", "",
            "Out of scope is detected by a confidence threshold chosen on the validation split: "
            "the highest in-scope accuracy (a fallback counts as wrong) among the thresholds "
            f"with out-of-scope recall >= {percent(c['min_out_of_scope_recall'])} % on "
            "validation. The test numbers below use that threshold; out-of-scope examples "
            "are never trained on.", "",
            "| system | in-scope accuracy % | out-of-scope recall % | in-scope fallback % | "
            "in-scope acc. after threshold % | threshold | training s |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [f"| {name} | {percent(s['in_scope_accuracy'])} | "
                  f"{percent(s['out_of_scope_recall'])} | "
                  f"{percent(s['in_scope_fallback_rate'])} | "
                  f"{percent(s['in_scope_accuracy_with_threshold'])} | {s['threshold']} | "
                  f"{s['train_seconds']} |" for name, s in c["systems"].items()]
        lines.append("")
    own = results.get("own", {})
    for key, title in (("heldout", "Own data: held-out test set (tests/nlu/heldout.yml)"),
                       ("cross_validation", "Own data: cross-validation over data/nlu")):
        if key not in own:
            continue
        o = own[key]
        size = (f"{o['folds']} folds over {o['examples']} examples" if "folds" in o
                else f"{o['examples']} examples")
        train = o.get("train_seconds", o.get("train_seconds_mean"))
        lines += [
            f"### {title}", "",
            f"{size}: intent accuracy {percent(o['accuracy'])} %, macro-F1 "
            f"{percent(o['macro_f1'])} %, accuracy after the fallback "
            f"{percent(o['accuracy_after_fallback'])} % (fallback rate "
            f"{percent(o['fallback_rate'])} %), entity F1 (exact span) "
            f"{percent(o['entities']['micro']['f1'])} %; NLU training {train} s"
            f"{' per fold' if 'folds' in o else ''}.", "",
            "| intent | precision % | recall % | F1 % | support |", "|---|---|---|---|---|",
        ]
        lines += [f"| {intent} | {percent(s['precision'])} | {percent(s['recall'])} | "
                  f"{percent(s['f1'])} | {s['support']} |"
                  for intent, s in sorted(o["per_intent"].items(), key=lambda i: i[1]["f1"])]
        lines += ["", "| entity | precision % | recall % | F1 % | support |",
                  "|---|---|---|---|---|"]
        lines += [f"| {entity} | {percent(s['precision'])} | {percent(s['recall'])} | "
                  f"{percent(s['f1'])} | {s['support']} |"
                  for entity, s in o["entities"]["per_entity"].items()]
        if o["confusions"]:
            lines += ["", "Most frequent confusions (intent -> predicted: count): "
                      + "; ".join(f"{c['intent']} -> {c['predicted']}: {c['count']}"
                                  for c in o["confusions"]) + "."]
        lines.append("")
    return "\n".join(lines)
