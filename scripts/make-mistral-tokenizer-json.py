#!/usr/bin/env python3
"""Writes Vocabularies/mistral-v1.tokenizer.json: the Hugging Face tokenizer.json that transformers' slow→fast
converter makes from ../shared/reference/vocab/mistral-v1.tokenizer.model (Mistral 7B v0.1's SentencePiece BPE,
Apache-2.0, from mistral-common 1.13.1). This is the layout of the tokenizer.json files of Llama 2 and Mistral 7B
v0.1 on the Hugging Face Hub: normalizer Prepend("▁") + Replace(" " → "▁"), no pre-tokenizer, BPE with
byte_fallback and fuse_unk, decoder Replace + ByteFallback + Fuse + Strip, post-processor TemplateProcessing(<s> $A).

transformers 5 no longer converts this file, so the converter is pinned:

    python3 -m venv /tmp/tf4 && /tmp/tf4/bin/pip install 'transformers==4.46.3' sentencepiece protobuf
    /tmp/tf4/bin/python scripts/make-mistral-tokenizer-json.py [MODEL] [OUT]

The output is byte-identical from run to run (sha256 in Vocabularies/manifest.json).
"""
import sys

from transformers import LlamaTokenizerFast

model = sys.argv[1] if len(sys.argv) > 1 else "../shared/reference/vocab/mistral-v1.tokenizer.model"
out = sys.argv[2] if len(sys.argv) > 2 else "Vocabularies/mistral-v1.tokenizer.json"
# legacy=True and add_prefix_space=True give the Hub's Llama 2 / Mistral v0.1 layout (Prepend + Replace).
fast = LlamaTokenizerFast(vocab_file=model, from_slow=True, legacy=True, add_prefix_space=True)
fast.backend_tokenizer.save(out)
print(out)
