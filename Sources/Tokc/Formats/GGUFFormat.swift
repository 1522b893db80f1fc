/// The tokenizer a GGUF file's metadata describes (`tokenizer.ggml.*`, as llama.cpp's `llama-vocab.cpp` reads
/// it). This build reads the metadata and names the tokenizer; it does not yet assemble GGUF tokenizers, and
/// says so rather than guess at one.
public enum GGUFFormat {
    public static func load(_ metadata: GGUFMetadata, name: String, path: String) throws(TokcError) -> Tokenizer {
        func text(_ key: String) -> String? {
            if case let .string(bytes)? = metadata[key] { return String(decoding: bytes, as: UTF8.self) }
            return nil
        }
        guard let model = text("tokenizer.ggml.model") else {
            throw .invalidVocabulary(path: path, reason: "a GGUF file without tokenizer.ggml.model: it holds no tokenizer")
        }
        var tokens = 0
        if case let .strings(list)? = metadata["tokenizer.ggml.tokens"] { tokens = list.count }
        let pre = text("tokenizer.ggml.pre").map { ", pre-tokenizer '\($0)'" } ?? ""
        throw .invalidVocabulary(path: path, reason: "a GGUF tokenizer (model '\(model)'\(pre), \(tokens) tokens), which this tokc reads but cannot build yet")
    }
}
