#!/usr/bin/env python3
"""Builds Vocabularies/models.json: every chat, completion, responses and embedding model of LiteLLM's price
table, under LiteLLM's key, with its provider, context window, prices and the vocabulary that counts it.

Prices and context windows come from LiteLLM's model price table (MIT), the copy described in
../shared/reference/prices/README.md. Which vocabulary counts a model's tokens is decided by the family rules in
Vocabularies/model-families.json (a price table says nothing about tokenizers): the first rule whose pattern
matches the key, lowercased and without a leading "<provider>/", gives the family, the vocabulary, whether the
count is exact, and the evidence. tokc applies the same rules at run time to models of a newer table laid over
this one (`--prices`), and a test checks that both agree on every model written here.

Usage: scripts/make-models-json.py [PRICES_JSON] > Vocabularies/models.json
       scripts/make-models-json.py --summary [PRICES_JSON] > docs/model-coverage.md
(--summary: the share of the table's chat, completion and responses entries tokc counts exactly, by family and
provider, in Markdown.)
"""
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUMMARY = "--summary" in sys.argv[1:]
ARGUMENTS = [argument for argument in sys.argv[1:] if argument != "--summary"]
PRICES = ARGUMENTS[0] if ARGUMENTS else os.path.join(ROOT, "../shared/reference/prices/model_prices_and_context_window.json")
RULES = os.path.join(ROOT, "Vocabularies/model-families.json")
TABLE_SOURCE = "LiteLLM model_prices_and_context_window.json (PyPI litellm==1.109.1, MIT)"
TAKEN = "2026-11-23"
MODES = {"chat", "completion", "embedding", "responses"}


def load_rules():
    document = json.load(open(RULES))
    return [(rule, re.compile(rule["pattern"])) for rule in document["rules"]]


def subject(name, provider):
    """The key as the rules see it: lowercased, without a leading "<provider>/"."""
    key = name.lower()
    prefix = (provider or "").lower() + "/"
    return key[len(prefix):] if provider and key.startswith(prefix) else key


def classify(rules, name, provider):
    text = subject(name, provider)
    for rule, pattern in rules:
        if pattern.search(text):
            return rule
    return None


def per_million(value):
    return round(value * 1_000_000, 6) if isinstance(value, (int, float)) else None


def main():
    table = json.load(open(PRICES))
    rules = load_rules()
    models = []
    for name, spec in table.items():
        if name == "sample_spec" or not isinstance(spec, dict) or spec.get("mode") not in MODES:
            continue
        provider = spec.get("litellm_provider") or None
        rule = classify(rules, name, provider)
        entry = {"family": None, "vocabulary": None, "approximate": True, "tokenizer_note": "no family rule matches this model"}
        if rule is not None:
            # The rule's evidence is not repeated here: tokc reads it from model-families.json by family.
            entry = {"family": rule["family"], "vocabulary": rule["vocabulary"], "approximate": not rule["exact"]}
        models.append({
            "name": name,
            "provider": provider,
            **entry,
            "max_input_tokens": spec.get("max_input_tokens"),
            "max_output_tokens": spec.get("max_output_tokens"),
            "input_usd_per_million": per_million(spec.get("input_cost_per_token")),
            "output_usd_per_million": per_million(spec.get("output_cost_per_token")),
            "price_source": spec.get("source") or TABLE_SOURCE,
            "price_date": TAKEN,
        })
    models.sort(key=lambda m: m["name"])
    if SUMMARY:
        return summarise(table, models)
    document = {
        "format_version": 1,
        "prices_from": TABLE_SOURCE,
        "prices_taken": TAKEN,
        "models": models,
    }
    json.dump(document, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


def summarise(table, models):
    """Markdown: how many chat, completion and responses entries are counted exactly, by family and provider."""
    counted = [m for m in models if table[m["name"]].get("mode") in ("chat", "completion", "responses")]
    exact = [m for m in counted if m["vocabulary"] and not m["approximate"]]

    def tally(key):
        rows = {}
        for model in counted:
            row = rows.setdefault(key(model) or "(none)", [0, 0, 0])
            row[0 if model["vocabulary"] and not model["approximate"] else 1 if model["vocabulary"] else 2] += 1
        return sorted(rows.items(), key=lambda item: (-sum(item[1]), item[0]))

    print("# Which models tokc counts exactly\n")
    print(f"`scripts/make-models-json.py --summary` on {TABLE_SOURCE}, taken {TAKEN}: of its {len(counted):,} chat, "
          f"completion and responses entries, tokc counts **{len(exact):,} exactly ({100 * len(exact) / len(counted):.1f}%)** "
          "with the model's own tokenizer; the rest are estimates with a stand-in vocabulary and the reason "
          "(`Vocabularies/model-families.json`; the evidence for each exact rule: `docs/model-family-evidence.md`). "
          "`tokc cost --list --summary` prints the same tallies for the whole catalogue (embeddings included) "
          "or a filtered part of it.\n")
    for title, key in (("family", lambda m: m["family"]), ("provider", lambda m: m["provider"])):
        print(f"| {title} | entries | exact | approximate | none |")
        print("|---|---:|---:|---:|---:|")
        for name, (e, a, n) in tally(key):
            print(f"| {name} | {e + a + n} | {e} | {a} | {n} |")
        print()


if __name__ == "__main__":
    main()
