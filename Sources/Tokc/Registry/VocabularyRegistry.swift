import Crypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Finds vocabularies by name through the manifests of an ordered list of folders, and loads them.
///
/// The standard folders, searched in this order (the first manifest that lists a name wins):
/// 1. each folder in `TOKC_VOCAB_PATH` (colon-separated), the user's own, each with a `manifest.json`;
/// 2. the vocabularies shipped with tokc: `$TOKC_HOME/Vocabularies` if `TOKC_HOME` is set; else
///    `<executable dir>/../share/tokc/Vocabularies` (where `scripts/install.sh` puts them); else the first
///    `Vocabularies/manifest.json` found walking up from the executable (a build inside a checkout);
///    else the checkout this library was compiled from.
///
/// A BPE vocabulary named in a manifest is compiled once into `cacheFolder` (`CompiledTableCache`: its token
/// table; for a tokenizer.json, GGUF or SentencePiece file also its encoder and pipeline, `CompiledEncoder`) and
/// mapped from there by later loads.
public struct VocabularyRegistry: Sendable {
    /// Folders holding a `manifest.json`, searched in order.
    public let folders: [String]
    /// Where compiled `.tiktoken` tables are kept; nil: none kept, every load builds its table.
    public let cacheFolder: String?

    public init(folders: [String], cacheFolder: String? = nil) {
        self.folders = folders
        self.cacheFolder = cacheFolder
    }

    /// The registry of the standard folders for this process's environment, caching compiled tables in
    /// `$TOKC_CACHE_DIR` (`off`: nowhere), else `$XDG_CACHE_HOME/tokc`, else `~/.cache/tokc`.
    public static var standard: VocabularyRegistry {
        let environment = ProcessInfoLite.environment
        var folders = (environment["TOKC_VOCAB_PATH"] ?? "").split(separator: ":").map(String.init)
        if let shipped = shippedFolder("Vocabularies", marker: "manifest.json", environment: environment) { folders.append(shipped) }
        return VocabularyRegistry(folders: folders, cacheFolder: CompiledTableCache.standardFolder(environment: environment))
    }

    /// A manifest entry and the folder whose manifest lists it.
    public struct Located: Sendable {
        public let entry: VocabularyManifest.Entry
        public let folder: String
        public var filePath: String { folder + "/" + entry.file }
    }

    /// Every vocabulary the folders list, first listing of each name only, in folder then manifest order.
    public func vocabularies() throws(TokcError) -> [Located] {
        var seen = Set<String>()
        var result: [Located] = []
        for (folder, manifest) in try manifests() {
            for entry in manifest.vocabularies where seen.insert(entry.name).inserted {
                result.append(Located(entry: entry, folder: folder))
            }
        }
        return result
    }

    /// The vocabulary a scheme uses when none is named: the first manifest's default for it.
    public func defaultVocabulary(for scheme: Scheme) throws(TokcError) -> String {
        for (_, manifest) in try manifests() {
            if let name = manifest.defaults[scheme.rawValue] { return name }
        }
        throw .unknownVocabulary(name: "default for scheme \(scheme.rawValue)", known: try vocabularies().map(\.entry.name))
    }

    /// Loads a vocabulary by manifest name, or from a file path.
    ///
    /// A name found in a manifest loads that entry, after checking its file's sha256. Otherwise an existing file
    /// loads by its content, whatever its name (`VocabularyFileFormat.detect`): tokc's ungreedy vocabulary and a
    /// Hugging Face `tokenizer.json` carry their whole pipeline; a SentencePiece model its normaliser; BERT's
    /// `vocab.txt` gets BERT's uncased pipeline around it; a GGUF file is read for its metadata only; a `.tiktoken`
    /// BPE vocabulary: if its sha256 equals a manifest entry's, that entry supplies the pattern and special
    /// tokens; else `pattern` must (a built-in pattern name or a regex), and the file has no special tokens.
    /// Anything else is `unknownVocabulary`, listing the known names: never a silent fallback.
    public func load(_ nameOrPath: String, pattern: String? = nil) throws(TokcError) -> Tokenizer {
        if let located = try locate(nameOrPath) { return try load(located) }
        let known = try vocabularies()
        if let located = known.first(where: { $0.entry.name == nameOrPath }) {
            return try load(located)
        }
        guard FileIO.isFile(nameOrPath) else {
            throw .unknownVocabulary(name: nameOrPath, known: known.map(\.entry.name))
        }
        // A GGUF model file is never read whole: its metadata reader reads the front of it only.
        if VocabularyFileFormat.isGGUF(head: try FileIO.readPrefix(nameOrPath, count: GGUFMetadata.magic.count)) {
            return try GGUFFormat.load(try GGUFMetadata.read(path: nameOrPath), name: nameOrPath, path: nameOrPath)
        }
        var content = try FileIO.readAll(nameOrPath)
        // A gzipped file (as tokc ships its larger vocabularies) is read as the file inside.
        if content.starts(with: Gzip.magic) { content = try Gzip.decompress(content, path: nameOrPath) }
        let format = try VocabularyFileFormat.detect(content, path: nameOrPath)
        if let tokenizer = try format.tokenizer(from: content, name: nameOrPath, path: nameOrPath) { return tokenizer }
        let digest = Self.sha256(content)
        if pattern == nil, let located = known.first(where: { $0.entry.sha256 == digest }) {
            return try assemble(located.entry, path: nameOrPath, verifiedContent: content)
        }
        guard let pattern else {
            throw .missingPattern(path: nameOrPath, known: RegexPreTokenizer.Named.allCases.map(\.rawValue))
        }
        let regex = RegexPreTokenizer.Named(rawValue: pattern)?.pattern ?? pattern
        return try Scheme.makeTokenizer(
            scheme: .bpe, format: "tiktoken", normalizer: nil, pattern: regex, specialTokens: [:], name: nameOrPath,
            content: content, path: nameOrPath)
    }

    /// Loads a located entry, verifying its checksum (for a `.tiktoken` file mapped from the compiled cache:
    /// checked when the table was compiled, and the file unchanged since). Loaded tokenizers are cached per name, file and checksum for
    /// the life of the process, so repeated loads (a daemon, many `Tokenizer.named` calls) cost a lookup.
    public func load(_ located: Located) throws(TokcError) -> Tokenizer {
        // The name too: two entries may share a file (o200k_harmony is o200k_base's file with other specials).
        let key = located.entry.name + "\u{0}" + located.filePath + "\u{0}" + located.entry.sha256
        if let cached = Self.cache.withLock({ $0[key] }) { return cached }
        let tokenizer = try assemble(located.entry, path: located.filePath, verifiedContent: nil)
        Self.cache.withLock { $0[key] = tokenizer }
        return tokenizer
    }

    // MARK: - Internals

    /// The tokenizer of `entry` from its file at `path`, whose content the caller may have read and checked
    /// against the entry's sha256 already (`verifiedContent`). A `.tiktoken` table comes from the compiled
    /// cache when it holds one, and goes into it when it is built.
    private func assemble(
        _ entry: VocabularyManifest.Entry, path: String, verifiedContent: [UInt8]?
    ) throws(TokcError) -> Tokenizer {
        let cache = cacheFolder.map(CompiledTableCache.init)
        func content() throws(TokcError) -> [UInt8] {
            if let verifiedContent { return verifiedContent }
            // Taken before the file is read, so that a change while reading is never recorded as checked.
            let identity = cache == nil ? nil : CompiledTableCache.FileIdentity(path: path)
            let vouched = cache?.vouches(sha256: entry.sha256, source: path) == true
            var content = try FileIO.readAll(path)
            switch entry.compression {
            case nil: break
            case "gzip": content = try Gzip.decompress(content, path: path)
            case let other?: throw .invalidVocabulary(path: path, reason: "compression '\(other)' is not one tokc reads (it reads gzip)")
            }
            if vouched { return content }
            let digest = Self.sha256(content)
            guard digest == entry.sha256.lowercased() else {
                throw .checksumMismatch(path: path, expected: entry.sha256, actual: digest)
            }
            if let cache, let identity { cache.recordVerified(sha256: entry.sha256, identity: identity) }
            return content
        }
        guard let format = VocabularyFileFormat(rawValue: entry.format), format.hasCompiledForm,
              let compiledTables = cache else {
            return try Self.assemble(entry, name: entry.name, content: try content(), path: path)
        }
        let table = try compiledTables.table(sha256: entry.sha256, source: path, sourceVerified: verifiedContent != nil)
        let derived = table == nil ? nil : compiledTables.derived(sha256: entry.sha256)
        if format.storesCompiledPipeline {
            // The encoder read back beside the table, the rest from the pipeline stored with it (a tokenizer.json
            // without its vocabulary and merges; a GGUF's model, special tokens and template; a SentencePiece
            // model's normaliser and pieces, `CompiledSentencePiece`; an ungreedy file without its tokens):
            // neither the megabytes of the file nor the merges written as text are read or derived again.
            // A cache is never trusted further than its checks: what does not assemble from it is built again.
            if let table, let pipeline = compiledTables.pipeline(sha256: entry.sha256),
               let encoder = CompiledEncoder.encoder(from: pipeline.encoder, table: table, file: pipeline.file, derived: derived?.tables),
               let tokenizer = try? Self.assemble(entry, name: entry.name, content: pipeline.source, path: path, compiled: encoder) {
                if derived == nil { storeDerivedTables(of: encoder, sha256: entry.sha256, in: compiledTables) }
                return tokenizer
            }
            let (tokenizer, pipeline) = try Self.assembleKeepingPipeline(entry, name: entry.name, content: try content(), path: path)
            if let pipeline, let compiled = CompiledEncoder.serialize(tokenizer.encoder) {
                compiledTables.store(CompiledTableCache.Pipeline(encoder: compiled.bytes, source: pipeline), sha256: entry.sha256)
                compiledTables.store(compiled.table, sha256: entry.sha256, source: path)
                storeDerivedTables(of: tokenizer.encoder, sha256: entry.sha256, in: compiledTables)
            }
            return tokenizer
        }
        // A Tekken table comes with the manifest's pattern and special tokens, checked against the file when the
        // table was compiled: the 15 MB of JSON are not read again.
        if let table, let encoder = derived.flatMap({ DerivedTables.bpeEncoder(table: table, bytes: $0.tables) }) ?? BPEEncoder(table: table) {
            if derived == nil { storeDerivedTables(of: encoder, sha256: entry.sha256, in: compiledTables) }
            return try Self.assemble(entry, name: entry.name, content: [], path: path, compiled: encoder)
        }
        let tokenizer = try Self.assemble(entry, name: entry.name, content: try content(), path: path)
        if let encoder = tokenizer.encoder as? BPEEncoder {
            compiledTables.store(encoder.table, sha256: entry.sha256, source: path)
            storeDerivedTables(of: encoder, sha256: entry.sha256, in: compiledTables)
        }
        return tokenizer
    }

    /// Builds the tables `encoder` would build on first use and stores them beside its compiled table
    /// (`DerivedTables`), so that no later load builds them: when the table is compiled, and when a load finds
    /// them missing or damaged (their file failed its checksum) beside a sound table.
    private func storeDerivedTables(of encoder: any Encoder, sha256: String, in cache: CompiledTableCache) {
        if let tables = DerivedTables.bytes(of: encoder) { cache.store(derived: tables, sha256: sha256) }
    }

    private static let cache = Locked<[String: Tokenizer]>([:])

    private func manifests() throws(TokcError) -> [(folder: String, manifest: VocabularyManifest)] {
        var result: [(String, VocabularyManifest)] = []
        for folder in try searchedFolders() {
            switch try manifest(of: folder) {
            case let .compiled(compiled):
                if let manifest = compiled.manifest {
                    result.append((folder, manifest))
                } else {
                    let path = folder + "/manifest.json"
                    result.append((folder, try VocabularyManifest.parse(try FileIO.readAll(path), path: path)))
                }
            case let .parsed(manifest):
                result.append((folder, manifest))
            }
        }
        return result
    }

    /// The first listing of `name` in the folders' manifests, as `vocabularies()` would find it, decoding only that
    /// entry of a compiled manifest; nil when no manifest lists it (or a compiled one does not decode: the caller
    /// then reads the manifests whole).
    func locate(_ name: String) throws(TokcError) -> Located? {
        for folder in try searchedFolders() {
            switch try manifest(of: folder) {
            case let .compiled(compiled):
                if compiled.lists(name) {
                    return compiled.entry(named: name).map { Located(entry: $0, folder: folder) }
                }
            case let .parsed(manifest):
                if let entry = manifest.vocabularies.first(where: { $0.name == name }) { return Located(entry: entry, folder: folder) }
            }
        }
        return nil
    }

    private func searchedFolders() throws(TokcError) -> [String] {
        guard !folders.isEmpty else {
            throw .unreadableFile(path: "Vocabularies/manifest.json", reason: "no vocabulary folder found; set TOKC_HOME to the tokc checkout or install with scripts/install.sh, or add folders to TOKC_VOCAB_PATH")
        }
        return folders
    }

    private enum FolderManifest {
        case compiled(CompiledManifest)
        case parsed(VocabularyManifest)
    }

    /// A folder's manifest: its compiled form from the cache when that was recorded from the file as it is now;
    /// else the file parsed (its errors thrown as ever), and its compiled form stored for the next load.
    private func manifest(of folder: String) throws(TokcError) -> FolderManifest {
        let path = folder + "/manifest.json"
        guard let cacheFolder, let identity = CompiledTableCache.FileIdentity(path: path) else {
            return .parsed(try VocabularyManifest.parse(try FileIO.readAll(path), path: path))
        }
        let cache = CompiledTableCache(folder: cacheFolder)
        if let compiled = cache.manifest(path: path, identity: identity) { return .compiled(compiled) }
        let manifest = try VocabularyManifest.parse(try FileIO.readAll(path), path: path)
        cache.store(CompiledManifest(manifest), path: path, identity: identity)
        return .parsed(manifest)
    }

    /// The tokenizer of `entry` from its file's `content`, checked against the manifest. With `compiled` (an
    /// encoder read from the compiled cache), `content` is what was stored with it: nothing for a `.tiktoken` or
    /// Tekken table, the pipeline for a `tokenizer.json`, GGUF, SentencePiece or ungreedy file.
    static func assemble(
        _ entry: VocabularyManifest.Entry, name: String, content: [UInt8], path: String, compiled: (any Encoder)? = nil
    ) throws(TokcError) -> Tokenizer {
        try assembleKeepingPipeline(entry, name: name, content: content, path: path, compiled: compiled).tokenizer
    }

    /// As `assemble`, with the pipeline to store beside the compiled encoder when the file's format has one
    /// (`VocabularyFileFormat.tokenizerWithPipeline`).
    static func assembleKeepingPipeline(
        _ entry: VocabularyManifest.Entry, name: String, content: [UInt8], path: String, compiled: (any Encoder)? = nil
    ) throws(TokcError) -> (tokenizer: Tokenizer, pipeline: [UInt8]?) {
        var pipeline: [UInt8]? = nil
        guard let scheme = Scheme(rawValue: entry.scheme) else {
            throw .invalidVocabulary(path: path, reason: "scheme '\(entry.scheme)' is not one this tokc runs; known: \(Scheme.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let tokenizer: Tokenizer
        let format = VocabularyFileFormat(rawValue: entry.format)
        if let format, format.carriesItsPipeline {
            // The file holds its own pattern, normaliser and added tokens; the manifest's copies must agree.
            if format == .tekken, let compiled = compiled as? BPEEncoder {
                tokenizer = TekkenFormat.tokenizer(encoder: compiled, pattern: try RegexPreTokenizer(pattern: entry.pattern), specialTokens: entry.specialTokens, name: name)
            } else if let compiled, let loaded = try format.tokenizer(pipeline: content, encoder: compiled, name: name, path: path) {
                tokenizer = loaded
            } else if let loaded = try format.tokenizerWithPipeline(from: content, name: name, path: path) {
                (tokenizer, pipeline) = loaded
            } else {
                throw .invalidVocabulary(path: path, reason: "format \(format.rawValue) has no pipeline of its own")
            }
            let fileScheme = Scheme.of(tokenizer.encoder)
            guard fileScheme == scheme else {
                throw .invalidVocabulary(path: path, reason: "the manifest says scheme \(scheme.rawValue), the file holds \(fileScheme.rawValue)")
            }
            // A sequence of Split regexes is written one per line in the manifest.
            guard tokenizer.splitPatterns.joined(separator: "\n") == entry.pattern else {
                throw .invalidVocabulary(path: path, reason: "the manifest's pattern differs from the file's Split regex")
            }
            if format != .tokenizerJSON {
                // The file's special tokens, which the manifest lists for people to read, must be the ones it says.
                let listed = Dictionary(tokenizer.specialTokens.all.map { ($0.text, $0.id) }, uniquingKeysWith: { first, _ in first })
                guard listed == entry.specialTokens else {
                    throw .invalidVocabulary(path: path, reason: "the manifest's special_tokens differ from the file's (\(listed.count) in the file, \(entry.specialTokens.count) listed)")
                }
            }
        } else {
            tokenizer = try Scheme.makeTokenizer(
                scheme: scheme, format: entry.format, normalizer: entry.normalizer, pattern: entry.pattern,
                specialTokens: entry.specialTokens, name: name, content: content, path: path, compiled: compiled)
            // What a SentencePiece model or an ungreedy vocabulary is besides its encoder, kept beside it.
            if compiled == nil, CompiledEncoder.hasCompiledForm(tokenizer.encoder) {
                if format == .sentencePiece { pipeline = CompiledSentencePiece.bytes(of: tokenizer) }
                if format == .ungreedy { pipeline = UngreedyFormat.pipelineSource(of: tokenizer) }
            }
        }
        guard tokenizer.vocabularySize == entry.vocabSize else {
            throw .invalidVocabulary(path: path, reason: "the manifest says vocab_size \(entry.vocabSize), the file and special tokens give \(tokenizer.vocabularySize)")
        }
        return (tokenizer, pipeline)
    }

    static func sha256(_ bytes: [UInt8]) -> String {
        let hex = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in SHA256.hash(data: bytes) {
            text.append(hex[Int(byte >> 4)])
            text.append(hex[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The folder `name` (`Vocabularies`, `Corpus`) shipped with tokc, recognised by the file `marker` in it:
    /// `$TOKC_HOME/<name>`; else `<executable dir>/../share/tokc/<name>`; else the first `<name>` found walking
    /// up from the executable (a build inside a checkout); else the checkout this library was compiled from.
    static func shippedFolder(_ name: String, marker: String, environment: [String: String]) -> String? {
        func hasMarker(_ folder: String) -> Bool { FileIO.isFile(folder + "/" + marker) }
        if let home = environment["TOKC_HOME"] {
            return home + "/" + name
        }
        if let executable = executablePath() {
            var directory = parent(of: executable)
            let installed = directory + "/../share/tokc/" + name
            if hasMarker(installed) { return installed }
            while directory.count > 1 {
                if hasMarker(directory + "/" + name) { return directory + "/" + name }
                directory = parent(of: directory)
            }
        }
        // Sources/Tokc/Registry/VocabularyRegistry.swift → the checkout root.
        var checkout = #filePath
        for _ in 0..<4 { checkout = parent(of: checkout) }
        return hasMarker(checkout + "/" + name) ? checkout + "/" + name : nil
    }

    private static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func executablePath() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The process environment without Foundation's `ProcessInfo` (kept out of the library's non-Foundation files).
enum ProcessInfoLite {
    static var environment: [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return result
    }
}

extension Tokenizer {
    /// Loads a vocabulary by name (`o200k_base`, `cl100k_base`, or one from `TOKC_VOCAB_PATH`) or file path,
    /// through the standard registry. Cached: a second call with the same name costs a manifest read.
    public static func named(_ nameOrPath: String) throws(TokcError) -> Tokenizer {
        try VocabularyRegistry.standard.load(nameOrPath)
    }
}
