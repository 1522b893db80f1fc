"""How the references of tokc's non-OpenAI vocabularies are loaded, shared by scripts/differential (ids) and
Benchmarks/reference_throughput.py (speed), so that both measure the same thing: a shipped file's original
bytes, Qwen's .tiktoken as dashscope runs it, a file written out for a library that reads paths only, and
llama.cpp's tokenizer on a vocabulary-only GGUF. Standard library only; each reference library is imported
where it is used, inside the private venv.
"""

import gzip
import os


def shipped_bytes(entry, path):
    """A shipped vocabulary file's original bytes (decompressed where the manifest says gzip)."""
    with open(path, "rb") as f:
        data = f.read()
    return gzip.decompress(data) if entry and entry.get("compression") == "gzip" else data


def write_plain(entry, path, folder, name):
    """The shipped file written out decompressed as folder/name, for a library that reads only a path."""
    plain = os.path.join(folder, name)
    with open(plain, "wb") as f:
        f.write(shipped_bytes(entry, path))
    return plain


def tiktoken_file_encoder(name, entry, path):
    """A .tiktoken file tiktoken has no encoding name for (Qwen's): an Encoding built from the file and the
    manifest's pattern and special tokens; `encode_ordinary` of the NFC text where the manifest normalises, as
    dashscope's Qwen tokenizer does. Where the manifest has a `reference_pattern` (Kimi's, in the Rust regex syntax
    tiktoken reads and tokc's PCRE2 cannot), the reference runs that one, the model's own, not tokc's spelling of
    it. Returns the encode function."""
    import base64
    import unicodedata

    import tiktoken

    lines = shipped_bytes(entry, path).splitlines()
    ranks = {base64.b64decode(token): int(rank) for token, rank in (line.split() for line in lines if line.strip())}
    pattern = entry.get("reference_pattern") or entry["pattern"]
    enc = tiktoken.Encoding(name, pat_str=pattern, mergeable_ranks=ranks, special_tokens=entry["special_tokens"])
    if entry.get("normalizer") == "nfc":
        return lambda text: enc.encode_ordinary(unicodedata.normalize("NFC", text))
    return enc.encode_ordinary


def llamacpp_binding(quiet=False):
    """llama.cpp's C API through PyPI llama-cpp-py-sync's cffi binding, its backend started; (ffi, lib).
    On glibc < 2.38 it loads only with the shim preloaded (scripts/reference_venv.llamacpp_environment)."""
    from llama_cpp_py_sync._cffi_bindings import get_ffi, get_lib

    ffi, lib = get_ffi(), get_lib()
    if quiet:
        lib.llama_log_set(ffi.cast("ggml_log_callback", 0), ffi.NULL)
    lib.llama_backend_init()
    return ffi, lib


def llamacpp_encoder(ffi, lib, model_path):
    """Loads the vocabulary-only model at model_path; returns text -> llama.cpp's ids (no BOS, special tokens
    parsed, as `llama_tokenize(..., add_special=false, parse_special=true)`)."""
    params = lib.llama_model_default_params()
    params.vocab_only = True
    model = lib.llama_model_load_from_file(model_path.encode(), params)
    if model == ffi.NULL:
        raise RuntimeError(f"llama.cpp could not load {model_path}")
    vocabulary = lib.llama_model_get_vocab(model)

    def encode(text):
        data = text.encode("utf-8")
        capacity = len(data) + 16
        buffer = ffi.new("llama_token[]", capacity)
        count = lib.llama_tokenize(vocabulary, data, len(data), buffer, capacity, False, True)
        if count < 0:  # more tokens than bytes + 16 (cannot happen without a BOS, but llama.cpp says how many)
            capacity = -count
            buffer = ffi.new("llama_token[]", capacity)
            count = lib.llama_tokenize(vocabulary, data, len(data), buffer, capacity, False, True)
        return ffi.unpack(buffer, count)

    return encode
