/// What llama.cpp does to text before its BPE merges, per `tokenizer.ggml.pre`: the split regexes it runs one
/// after another (each on the pieces of the one before, unmatched text kept as pieces), and whether a piece that
/// is a token whole is taken whole (`ignore_merges`), and whether BOS is added by default (`add_bos`). The regexes are the models' own pre-tokenizer patterns in
/// the form llama.cpp runs them (`(?i:…)` spelled out, as its regex engine lacks it); `llama-vocab.cpp` maps each
/// `pre` value to one of these, and that mapping is the specification here.
struct GGUFPreTokenizer: Sendable {
    let patterns: [String]
    let ignoresMerges: Bool
    /// llama.cpp's `add_bos` for the `pre` value, where the file has no `add_bos_token` (the Llama 3 family and
    /// Tekken set it; every other `gpt2` vocabulary leaves it off).
    let addsBOS: Bool

    private init(_ patterns: [String], ignoresMerges: Bool = false, addsBOS: Bool = false) {
        self.patterns = patterns
        self.ignoresMerges = ignoresMerges
        self.addsBOS = addsBOS
    }

    /// The pieces of GPT-2's pattern, which several lists repeat.
    static let gpt2 = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"#
    private static let contractions = RegexPreTokenizer.WordShortcut.contractionsSpelled
    /// Llama 3's and Qwen's patterns as llama.cpp spells them (the pre-tokenizer's shortcut knows both).
    private static let llama3 = RegexPreTokenizer.WordShortcut.llama3Spelled
    private static let qwen2 = RegexPreTokenizer.WordShortcut.qwenSpelled
    private static let casedWords = #"[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+"# + "(?:" + contractions + ")?"
        + #"|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*"# + "(?:" + contractions + ")?"
        + #"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    private static let defaultLists = GGUFPreTokenizer([#"[\p{P}\$\+<=>\^~\|]+"#, gpt2, #"\p{N}+"#, "[0-9][0-9][0-9]"])

    /// `pre` values and what each runs; a value missing from the file runs `default`, as in llama.cpp.
    private static let known: [String: GGUFPreTokenizer] = {
        var table: [String: GGUFPreTokenizer] = ["default": defaultLists]
        func add(_ names: [String], _ value: GGUFPreTokenizer) { for name in names { table[name] = value } }
        add(["llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano"],
            GGUFPreTokenizer([llama3], ignoresMerges: true, addsBOS: true))
        add(["dbrx", "smaug-bpe", "glm4", "chatglm-bpe"], GGUFPreTokenizer([llama3]))
        // Cased letters (DeepSeek LLM's own list). Six are spelled as escapes: canonical singletons (OHM SIGN,
        // KELVIN SIGN, GREEK PROSGEGRAMMENI, three Greek letters with oxia) that an editor's NFC would turn into
        // other code points and so break the ranges.
        add(["deepseek-llm"], GGUFPreTokenizer([
            "[\r\n]",
            #"\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-\x{1F7D}ᾀ-ᾴᾶ-ᾼ\x{1FBE}ῂ-ῄῆ-ῌῐ-\x{1FD3}ῖ-\x{1FDB}ῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤ\x{2126}ℨ\x{212A}-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+"#,
            #"\s?[!-/:-~！-／：-～‘-‟　-。]+"#,
            #"\s+$"#,
            "[一-龥ࠀ-一가-퟿]+",
            #"\p{N}+"#,
        ]))
        add(["deepseek-coder"], GGUFPreTokenizer(["[\r\n]", #"\s?\p{L}+"#, #"\s?\p{P}+"#, "[一-龥ࠀ-一가-퟿]+", #"\p{N}"#]))
        add(["deepseek-v3", "hunyuan-dense", "joyai-llm", "hy_v4"], GGUFPreTokenizer([
            #"\p{N}{1,3}"#,
            "[一-龥぀-ゟ゠-ヿ]+",
            ##"[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"##,
        ]))
        add(["falcon"], GGUFPreTokenizer([#"[\p{P}\$\+<=>\^~\|`]+"#, gpt2, "[0-9][0-9][0-9]"]))
        add(["starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b", "mellum2"],
            GGUFPreTokenizer([#"\p{N}"#, gpt2]))
        add(["gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum", "modern-bert",
             "jina-v1-en", "jina-v2-code", "roberta-bpe", "exaone4", "mpt", "olmo", "jais", "trillion", "granite-docling"],
            GGUFPreTokenizer([gpt2]))
        add(["qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez", "stablelm2", "hunyuan", "solar-open", "grok-2"],
            GGUFPreTokenizer([qwen2]))
        add(["qwen35"], GGUFPreTokenizer([
            contractions + #"|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#,
        ]))
        add(["poro-chat", "bloom", "gpt3-finnish"], GGUFPreTokenizer([#" ?[^(\s|.,!?…。，、।۔،)]+"#]))
        add(["viking"], GGUFPreTokenizer([#" ?[^(\s|.,!?…。，、।۔،)]+"#, #"\p{N}"#]))
        add(["tekken"], GGUFPreTokenizer([
            #"[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"#,
        ], ignoresMerges: true, addsBOS: true))
        add(["gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2"], GGUFPreTokenizer([casedWords]))
        add(["bailingmoe", "bailingmoe2", "llada-moe"], GGUFPreTokenizer([
            #"'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+"#,
        ]))
        add(["seed-coder"], GGUFPreTokenizer([
            contractions + #"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+"#,
        ]))
        add(["ufakzeka"], GGUFPreTokenizer([#"[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#]))
        add(["minicpm5"], GGUFPreTokenizer([
            #"\p{N}{1,3}"#, contractions + #"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}+| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#,
        ], ignoresMerges: true))
        return table
    }()

    /// Gemma 4's: no word split, only lines apart from runs of line breaks (its merges span spaces, which its
    /// normaliser turned into `▁`).
    static let gemma4 = GGUFPreTokenizer(["[^\n]+|[\n]+"])

    static var knownNames: [String] { known.keys.sorted() }

    /// The pre-tokenizer for `pre`: llama.cpp's `default` when the file names none (as llama.cpp, which warns),
    /// nil for a value tokc does not know.
    static func named(_ pre: String?) -> GGUFPreTokenizer? {
        known[pre ?? "default"]
    }

    func stages() throws(TokcError) -> any PreTokenizer {
        var stages: [any PreTokenizer] = []
        for pattern in patterns { stages.append(try RegexPreTokenizer(pattern: pattern)) }
        return stages.count == 1 ? stages[0] : SequencePreTokenizer(stages)
    }
}
