/// A vocabulary folder's `manifest.json` kept in binary beside the compiled tables (`CompiledTableCache`), so
/// that loading one vocabulary by name does not parse the whole manifest. The shipped one is 300 KB of JSON
/// (the special tokens of Llama 4, Tekken, Command R and the SentencePiece models: 7,105 of them); reading it
/// into entries took 24M instructions (callgrind), half of a compiled o200k_base load. From the binary form a
/// load reads the names and decodes the one entry it asks for.
///
/// The file (`manifest-<16 hex digits of the folder path's sha256>.tokc-manifest`): the magic `TOKCMAN1`, a
/// `TokenTable.Checksum` of all that follows it, the manifest file's identity (size, modification time, device
/// and inode, as `CompiledTableCache.FileIdentity` records a source's) and path, then the defaults, the names
/// with where each entry's bytes lie, and the entries. It is used only while `manifest.json`'s identity is the
/// one recorded; otherwise the JSON is parsed again (and its errors reported as ever) and the file rewritten.
/// Damage is refused by the checksum and by bounds checks on every read, never misread.
struct CompiledManifest: Sendable {
    let formatVersion: Int
    /// The scheme → vocabulary defaults, as the manifest lists them.
    let defaults: [(scheme: String, name: String)]
    /// Each entry's name and the bytes that decode to it (`bytes` holds them all).
    private let names: [(name: String, range: Range<Int>)]
    private let bytes: [UInt8]

    private static let magic = Array("TOKCMAN1".utf8)

    init(_ manifest: VocabularyManifest) {
        formatVersion = manifest.formatVersion
        var writer = Writer()
        var ranges: [Range<Int>] = []
        for entry in manifest.vocabularies {
            let start = writer.bytes.count
            writer.entry(entry)
            ranges.append(start..<writer.bytes.count)
        }
        bytes = writer.bytes
        names = zip(manifest.vocabularies, ranges).map { ($0.name, $1) }
        defaults = manifest.defaults.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    private init(formatVersion: Int, defaults: [(scheme: String, name: String)], names: [(name: String, range: Range<Int>)], bytes: [UInt8]) {
        (self.formatVersion, self.defaults, self.names, self.bytes) = (formatVersion, defaults, names, bytes)
    }

    /// Whether an entry is named `name`.
    func lists(_ name: String) -> Bool { names.contains { $0.name == name } }

    /// The first entry named `name`, decoded; nil when none is (or, in a damaged file, it does not decode).
    func entry(named name: String) -> VocabularyManifest.Entry? {
        guard let found = names.first(where: { $0.name == name }) else { return nil }
        var reader = Reader(bytes: bytes[found.range])
        return reader.entry()
    }

    /// The whole manifest, decoded; nil if an entry does not decode.
    var manifest: VocabularyManifest? {
        var entries: [VocabularyManifest.Entry] = []
        for (_, range) in names {
            var reader = Reader(bytes: bytes[range])
            guard let entry = reader.entry() else { return nil }
            entries.append(entry)
        }
        return VocabularyManifest(
            formatVersion: formatVersion, defaults: Dictionary(defaults, uniquingKeysWith: { first, _ in first }), vocabularies: entries)
    }

    // MARK: - The file

    /// The file's bytes, recording `identity` and `path` of the manifest it was read from.
    func file(identity: [UInt64], path: String) -> [UInt8] {
        var writer = Writer()
        for field in identity { writer.u64(UInt64(field)) }
        writer.string(path)
        writer.u64(UInt64(bitPattern: Int64(formatVersion)))
        writer.u64(UInt64(defaults.count))
        for (scheme, name) in defaults {
            writer.string(scheme)
            writer.string(name)
        }
        writer.u64(UInt64(names.count))
        for (name, range) in names {
            writer.string(name)
            writer.u64(UInt64(range.lowerBound))
            writer.u64(UInt64(range.count))
        }
        writer.u64(UInt64(bytes.count))
        writer.bytes += bytes
        var checksum = TokenTable.Checksum()
        writer.bytes.withUnsafeBytes { checksum.add($0) }
        var header = Self.magic
        withUnsafeBytes(of: checksum.value.littleEndian) { header += $0 }
        return header + writer.bytes
    }

    /// The manifest a file `file(identity:path:)` wrote holds, if it checks out and records `identity` and `path`.
    init?(file: [UInt8], identity: [UInt64], path: String) {
        guard file.count >= 16, file[0..<8].elementsEqual(Self.magic) else { return nil }
        var checksum = TokenTable.Checksum()
        file.withUnsafeBytes { checksum.add(UnsafeRawBufferPointer(rebasing: $0[16...])) }
        var reader = Reader(bytes: file[8..<16])
        guard reader.u64() == checksum.value else { return nil }
        reader = Reader(bytes: file[16...])
        for field in identity { guard reader.u64() == field else { return nil } }
        guard reader.string() == path, let version = reader.u64(), let defaultCount = reader.count() else { return nil }
        var defaults: [(String, String)] = []
        for _ in 0..<defaultCount {
            guard let scheme = reader.string(), let name = reader.string() else { return nil }
            defaults.append((scheme, name))
        }
        guard let nameCount = reader.count() else { return nil }
        var names: [(String, Range<Int>)] = []
        for _ in 0..<nameCount {
            guard let name = reader.string(), let start = reader.count(), let length = reader.count() else { return nil }
            names.append((name, start..<(start + length)))
        }
        guard let length = reader.count(), let body = reader.take(length), reader.atEnd,
              names.allSatisfy({ $0.1.upperBound <= length })
        else { return nil }
        self.init(formatVersion: Int(Int64(bitPattern: version)), defaults: defaults, names: names, bytes: Array(body))
    }

    // MARK: - Encoding

    private struct Writer {
        var bytes: [UInt8] = []

        mutating func u64(_ value: UInt64) {
            withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
        }

        mutating func string(_ text: String) {
            u64(UInt64(text.utf8.count))
            bytes += text.utf8
        }

        mutating func optional(_ text: String?) {
            bytes.append(text == nil ? 0 : 1)
            if let text { string(text) }
        }

        mutating func entry(_ entry: VocabularyManifest.Entry) {
            for text in [entry.name, entry.scheme, entry.format, entry.file] { string(text) }
            optional(entry.compression)
            optional(entry.family)
            u64(UInt64(entry.vocabSize))
            string(entry.pattern)
            optional(entry.patternName)
            optional(entry.normalizer)
            // In id order then text, so that the same manifest always writes the same bytes.
            let specials = entry.specialTokens.sorted { ($0.value, $0.key) < ($1.value, $1.key) }
            u64(UInt64(specials.count))
            for (text, id) in specials {
                string(text)
                u64(UInt64(id))
            }
            optional(entry.usedBy)
            for text in [entry.source, entry.licence, entry.sha256] { string(text) }
        }
    }

    /// Reads what `Writer` wrote; every read is bounds-checked and gives nil past the end.
    private struct Reader {
        let bytes: ArraySlice<UInt8>
        var position: Int

        init(bytes: ArraySlice<UInt8>) {
            self.bytes = bytes
            position = bytes.startIndex
        }

        var atEnd: Bool { position == bytes.endIndex }

        mutating func take(_ count: Int) -> ArraySlice<UInt8>? {
            guard count >= 0, count <= bytes.endIndex - position else { return nil }
            defer { position += count }
            return bytes[position..<(position + count)]
        }

        mutating func u64() -> UInt64? {
            guard let word = take(8) else { return nil }
            return word.reversed().reduce(0) { $0 << 8 | UInt64($1) }
        }

        /// A length or count: at most what the bytes could hold.
        mutating func count() -> Int? {
            guard let value = u64(), value <= UInt64(bytes.count) else { return nil }
            return Int(value)
        }

        mutating func string() -> String? {
            guard let length = count(), let text = take(length) else { return nil }
            return String(validating: text, as: UTF8.self)
        }

        mutating func optional() -> String?? {
            guard let flag = take(1)?.first else { return nil }
            switch flag {
            case 0: return .some(nil)
            case 1: return string().map { .some($0) }
            default: return nil
            }
        }

        mutating func entry() -> VocabularyManifest.Entry? {
            guard let name = string(), let scheme = string(), let format = string(), let file = string(),
                  let compression = optional(), let family = optional(), let vocabSize = u64().flatMap({ Int(exactly: $0) }),
                  let pattern = string(), let patternName = optional(), let normalizer = optional(),
                  let specialCount = count()
            else { return nil }
            var specials: [String: TokenID] = [:]
            specials.reserveCapacity(specialCount)
            for _ in 0..<specialCount {
                guard let text = string(), let id = u64(), let tokenID = TokenID(exactly: id) else { return nil }
                specials[text] = tokenID
            }
            guard let usedBy = optional(), let source = string(), let licence = string(), let sha256 = string(), atEnd
            else { return nil }
            return VocabularyManifest.Entry(
                name: name, scheme: scheme, format: format, file: file, compression: compression, family: family,
                vocabSize: vocabSize, pattern: pattern, patternName: patternName, normalizer: normalizer,
                specialTokens: specials, usedBy: usedBy, source: source, licence: licence, sha256: sha256)
        }
    }
}
