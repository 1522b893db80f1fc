#!/usr/bin/env python3
"""Builds Vocabularies/models.json: model name -> tokenizer vocabulary, context window, prices.

Prices and context windows come from LiteLLM's model price table (MIT), the copy described in
../shared/reference/prices/README.md. Which vocabulary counts a model's tokens is tokc's own explicit
mapping below (the same families tiktoken names): a price table says nothing about tokenizers.

Models whose tokenizer is not public (Anthropic's Claude, Google's Gemini) are listed with a proxy vocabulary
and "approximate": true, so every cost for them says it is an estimate and which vocabulary stood in.

Usage: scripts/make-models-json.py [PRICES_JSON] > Vocabularies/models.json
"""
import json
import re
import sys

PRICES = sys.argv[1] if len(sys.argv) > 1 else "../shared/reference/prices/model_prices_and_context_window.json"
TABLE_SOURCE = "LiteLLM model_prices_and_context_window.json (PyPI litellm==1.109.1, MIT)"
TAKEN = "2026-11-23"

# Exact tokenizers of OpenAI's model families: (name pattern, vocabulary). First match wins.
EXACT = [
    (r"^(ft:)?(gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|o1|o3|o4-mini)(-|$)", "o200k_base"),
    (r"^(ft:)?gpt-5", "o200k_base"),
    (r"^(ft:)?(gpt-4|gpt-3\.5-turbo|gpt-35-turbo)(-|$)", "cl100k_base"),
    (r"^(text-embedding-3-small|text-embedding-3-large|text-embedding-ada-002|davinci-002|babbage-002)$", "cl100k_base"),
]
# Families with no public tokenizer: counted with a proxy, always marked approximate.
PROXY = [
    (r"^claude-", "anthropic", "o200k_base", "Anthropic does not publish Claude's tokenizer"),
    (r"^gemini-", None, "o200k_base", "Google does not publish Gemini's tokenizer"),
]
MODES = {"chat", "completion", "embedding", "responses"}


def per_million(value):
    return None if value is None else round(value * 1_000_000, 6)


def main():
    table = json.load(open(PRICES))
    models = []
    for name, spec in table.items():
        if name == "sample_spec" or "/" in name or spec.get("mode") not in MODES:
            continue
        if spec.get("input_cost_per_token") is None:
            continue
        provider = spec.get("litellm_provider", "")
        entry = None
        if provider == "openai":
            for pattern, vocabulary in EXACT:
                if re.search(pattern, name):
                    entry = {"vocabulary": vocabulary, "approximate": False}
                    break
            else:
                # An OpenAI model of a family tokc has no mapping for: listed, so that `cost` can say its
                # tokenizer is unknown instead of "unknown model", but with no vocabulary.
                entry = {"vocabulary": None, "approximate": True,
                         "tokenizer_note": "no public mapping of this model to a vocabulary"}
        else:
            for pattern, wanted, vocabulary, why in PROXY:
                if re.search(pattern, name) and (wanted is None or provider == wanted):
                    entry = {"vocabulary": vocabulary, "approximate": True, "tokenizer_note": f"{why}; {vocabulary} stands in"}
                    break
        if entry is None:
            continue
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
    document = {
        "format_version": 1,
        "prices_from": TABLE_SOURCE,
        "prices_taken": TAKEN,
        "models": models,
    }
    json.dump(document, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
