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
    measured = meta.get("measured") or {}
    if len({(m["date"], m["command"]) for m in measured.values()}) > 1:
        lines += ["Parts measured separately: " + "; ".join(
            f"{part} on {m['date']} with `{m['command']}`" for part, m in measured.items())
            + ".", ""]
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
        lines += ["", *note(b)]
    if "clinc150" in public:
        lines += clinc150_section(public["clinc150"])
    lines += others_words_section(results.get("others_words"))
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
    lines += note(own)
    return "\n".join(lines)


def others_words_section(others: dict[str, Any] | None) -> list[str]:
    """Requests written by other people: Banking77's and CLINC150's test splits, mapped."""
    if not others:
        return []
    lines = [
        f"### Others' words ({others['requests']} requests from Banking77's and CLINC150's "
        f"test splits: {others['our_requests']} ours, {others['out_of_scope']} out of scope)",
        "",
        "Mapped to our intents by bench/nlu/public_mapping.yml; never trained or tuned on. "
        "A request is right when the intent after the fallback threshold is the mapped one; "
        "an out-of-scope request only when the answer is `out_of_scope` (\"that's not "
        "something I can help with\"), so a fallback counts as wrong. *Typos*: the same rows "
        "with one random edit in every word of four letters or more.", "",
        "| system | accuracy % | our requests % | out of scope % | Banking77 rows % | "
        "CLINC150 rows % | with typos % | typo loss (points) | training s | parse ms |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in others["systems"].items():
        clean = s["clean"]
        lines.append(
            f"| {name} | {percent(clean['accuracy'])} | {percent(clean['our_requests'])} | "
            f"{percent(clean['out_of_scope'])} | {percent(clean['by_source']['banking77'])} | "
            f"{percent(clean['by_source']['clinc150'])} | "
            f"{percent(s['typos']['accuracy'])} | {s['typo_loss_points']} | "
            f"{s['train_seconds']} | {s['parse_ms_median']} |")
    first = next(iter(others["systems"].values()))
    lines += ["", "Recall per intent for the first system (clean / with typos): "
              + "; ".join(f"{intent} {percent(v['recall'])} / "
                          f"{percent(first['typos']['by_intent'][intent]['recall'])} "
                          f"({v['support']})"
                          for intent, v in first["clean"]["by_intent"].items()) + "."]
    if first["clean"]["confusions"]:
        lines += ["", "Its most frequent mistakes (meant -> answered: count): "
                  + "; ".join(f"{c['intent']} -> {c['predicted']}: {c['count']}"
                              for c in first["clean"]["confusions"]) + "."]
    return [*lines, "", *note(others)]


def note(part: dict[str, Any]) -> list[str]:
    """What whoever ran a part wrote beside its numbers (the load on a shared machine, say):
    kept in the JSON with the numbers, so the Markdown can be written again without losing it."""
    return [part["note"], ""] if part.get("note") else []


def clinc150_section(c: dict[str, Any]) -> list[str]:
    """CLINC150 by its "oos-train" protocol, at a threshold chosen on the validation split."""
    lines = [
        f"### CLINC150 ({c['train_examples']} in-scope and {c['train_out_of_scope']} "
        f"out-of-scope train, {c['test_in_scope']} in-scope and {c['test_out_of_scope']} "
        f"out-of-scope test, {c['intents']} intents)", "",
        "CLINC's standard \"oos-train\" protocol: every system is trained on the in-scope "
        f"train split and its {c['train_out_of_scope']} out-of-scope training examples as one "
        "more intent, `oos`. A message is called out of scope when its top intent is `oos` or "
        "its confidence is under a threshold chosen on the validation split (val and oos_val) "
        "alone: the highest in-scope accuracy (a fallback counts as wrong) among the thresholds "
        f"with out-of-scope recall >= {percent(c['min_out_of_scope_recall'])} % on validation. "
        "The test split chooses nothing. *By label*: the out-of-scope recall of the `oos` "
        "intent alone, with no threshold.", "",
        "| system | in-scope accuracy % | out-of-scope recall % | by label % | "
        "in-scope fallback % | in-scope acc. after threshold % | threshold | training s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [f"| {name} | {percent(s['in_scope_accuracy'])} | "
              f"{percent(s['out_of_scope_recall'])} | "
              f"{percent(s['out_of_scope_recall_by_label'])} | "
              f"{percent(s['in_scope_fallback_rate'])} | "
              f"{percent(s['in_scope_accuracy_with_threshold'])} | {s['threshold']} | "
              f"{s['train_seconds']} |" for name, s in c["systems"].items()]
    return [*lines, "", *note(c)]
