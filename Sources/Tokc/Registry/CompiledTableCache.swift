#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A folder of compiled token tables (`TokenTable.compiled`), one per BPE vocabulary, named by its sha256: a
/// load maps the table built last time instead of decoding 200,000 base64 lines, hashing and sorting them again
/// (o200k_base: about 30 ms to build, a few to map). Beside the table of a tokenizer.json, GGUF or SentencePiece
/// vocabulary lies its pipeline file (`pipeline(sha256:)`): the encoder and what of the file it does not replace.
///
/// A compiled table is used only for the vocabulary it was built from. Its header records the source's
/// sha256 (the manifest's, checked when the table was built) and the source file's size, modification time,
/// device and inode. When the file's are unchanged the source is not read at all; when they differ (another
/// checkout, a copy, a touch) the source is read and hashed, and the table used only if the hash still
/// matches. A file that is short, of another layout or fails its checksum is ignored and rebuilt.
///
/// The folder is the user's cache (`$TOKC_CACHE_DIR`, else `$XDG_CACHE_HOME/tokc`, else `~/.cache/tokc`),
/// not `Vocabularies/`: that folder may be read-only (an installed tokc) or a checkout whose files are
/// exactly the shipped ones. `TOKC_CACHE_DIR=off` turns the cache off. A cache that cannot be written costs
/// the build it would have saved, nothing more: the load never fails because of it.
struct CompiledTableCache: Sendable {
    let folder: String

    /// The standard folder for `environment`, or nil when caching is off or no folder can be named.
    static func standardFolder(environment: [String: String]) -> String? {
        if let folder = environment["TOKC_CACHE_DIR"] {
            return folder == "off" || folder.isEmpty ? nil : folder
        }
        if let cache = environment["XDG_CACHE_HOME"], cache.hasPrefix("/") { return cache + "/tokc" }
        if let home = environment["HOME"], !home.isEmpty { return home + "/.cache/tokc" }
        return nil
    }

    /// The compiled table of the vocabulary whose sha256 is `sha256`, from `source`, if the cache holds a
    /// sound one. Reads and hashes `source` when its file identity changed since the table was written, unless
    /// the caller has just checked that `source` hashes to `sha256` (`sourceVerified`); throws only what
    /// reading it throws.
    func table(sha256: String, source: String, sourceVerified: Bool = false) throws(TokcError) -> TokenTable? {
        guard let (table, identity) = TokenTable.mapped(path: path(for: sha256)),
              let recorded = Identity(identity), recorded.sha256 == sha256.lowercased()
        else { return nil }
        if sourceVerified { return table }
        if let current = FileIdentity(path: source), current == recorded.file { return table }
        return VocabularyRegistry.sha256(try FileIO.readAll(source)) == recorded.sha256 ? table : nil
    }

    /// Writes `table`, built from `source` whose sha256 was checked to be `sha256`. Best effort: a folder
    /// that cannot be created or written leaves the cache as it was.
    func store(_ table: TokenTable, sha256: String, source: String) {
        guard let file = FileIdentity(path: source),
              let parts = table.compiled(identity: Identity(sha256: sha256.lowercased(), file: file).bytes)
        else { return }
        write(parts, to: path(for: sha256))
    }

    /// Writes a compiled file into the folder, made if need be; a folder or file that cannot be written leaves
    /// the cache as it was (the load that wanted it has its tokenizer already).
    private func write(_ parts: [[UInt8]], to path: String) {
        do {
            try FileIO.createFolders(folder)
            try FileIO.writeAtomically(parts, to: path)
        } catch {
            return
        }
    }

    /// The body of a file the cache wrote with `writeSealed`: after the 8-byte `magic` and a `TokenTable.Checksum`
    /// of all that follows (`UInt64`), and, when `sha256` is given, starting with it (64 hex digits, the body
    /// then from byte 80); nil when the magic, the checksum or the sha256 is not the one expected.
    private static func sealedBody(of raw: UnsafeRawBufferPointer, magic: [UInt8], sha256: String? = nil) -> UnsafeRawBufferPointer? {
        guard raw.count >= 16 + (sha256 == nil ? 0 : 64), raw[0..<8].elementsEqual(magic) else { return nil }
        var checksum = TokenTable.Checksum()
        checksum.add(UnsafeRawBufferPointer(rebasing: raw[16...]))
        guard raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian == checksum.value else { return nil }
        guard let sha256 else { return UnsafeRawBufferPointer(rebasing: raw[16...]) }
        guard raw[16..<80].elementsEqual(sha256.lowercased().utf8) else { return nil }
        return UnsafeRawBufferPointer(rebasing: raw[80...])
    }

    /// Writes `body` behind `magic` and its checksum (what `sealedBody` checks). Best effort, as `store`.
    private func writeSealed(_ body: [UInt8], magic: [UInt8], to path: String) {
        var checksum = TokenTable.Checksum()
        body.withUnsafeBytes { checksum.add($0) }
        var header = magic
        withUnsafeBytes(of: checksum.value.littleEndian) { header += $0 }
        write([header, body], to: path)
    }

    func path(for sha256: String) -> String {
        "\(folder)/\(sha256.lowercased()).v\(Self.formatVersion).tokc-table"
    }

    /// In the names of the files, so that builds of tokc that write different forms do not replace each other's
    /// files sharing one cache folder (each would refuse the other's and write its own again, load after load).
    /// 2: `TokenTable.Checksum` became a vectorisable sum. 3: a SentencePiece model's pipeline is its compiled
    /// form (`CompiledSentencePiece`), not the `.model`; Unigram and ungreedy encoders are stored.
    static let formatVersion = 3

    // MARK: - Sources verified before

    private static let verifiedMagic = Array("TOKCSRC1".utf8)

    /// Whether the cache recorded that `source`, as it is now (size, modification time, device, inode), had the
    /// sha256 `sha256` when it was last read: then reading it need not hash it again, as a compiled table's
    /// record spares it. The record: the magic `TOKCSRC1`, a checksum, the sha256 and the identity.
    func vouches(sha256: String, source: String) -> Bool {
        guard let current = FileIdentity(path: source), let record = try? FileIO.readAll(verifiedPath(for: sha256)),
              let body = record.withUnsafeBytes({ Self.sealedBody(of: $0, magic: Self.verifiedMagic).map(Array.init) }),
              let recorded = Identity(body)
        else { return false }
        return recorded.sha256 == sha256.lowercased() && recorded.file == current
    }

    /// Records that `source` had the sha256 `sha256` as it was when `identity` was taken (before it was read).
    func recordVerified(sha256: String, identity: FileIdentity) {
        writeSealed(Identity(sha256: sha256.lowercased(), file: identity).bytes, magic: Self.verifiedMagic, to: verifiedPath(for: sha256))
    }

    func verifiedPath(for sha256: String) -> String {
        "\(folder)/\(sha256.lowercased()).v\(Self.formatVersion).tokc-source"
    }

    // MARK: - Tables derived from a table

    private static let derivedMagic = Array("TOKCDRV1".utf8)

    /// The derived tables (`DerivedTables`) stored for the vocabulary whose sha256 is `sha256`, if the file is
    /// sound: the magic `TOKCDRV1`, a `TokenTable.Checksum` of all that follows it, the sha256 (64 hex digits),
    /// then the tables. Used only with that vocabulary's table (`table(sha256:source:)`), as the pipeline is;
    /// without them an encoder builds its tables as ever.
    func derived(sha256: String) -> (file: MappedFile, tables: UnsafeRawBufferPointer)? {
        guard let file = MappedFile(path: derivedPath(for: sha256)),
              let body = Self.sealedBody(of: file.bytes, magic: Self.derivedMagic, sha256: sha256)
        else { return nil }
        return (file, body)
    }

    /// Writes derived tables for the vocabulary whose sha256 is `sha256`. Best effort, as `store`.
    func store(derived tables: [UInt8], sha256: String) {
        writeSealed(Array(sha256.lowercased().utf8) + tables, magic: Self.derivedMagic, to: derivedPath(for: sha256))
    }

    func derivedPath(for sha256: String) -> String {
        "\(folder)/\(sha256.lowercased()).v\(Self.formatVersion).tokc-derived"
    }

    // MARK: - Manifests

    /// The compiled form of the manifest at `path` (`CompiledManifest`) if the cache holds one recorded from the
    /// file as it is now (`identity`, taken before the caller reads the file, so a change in between is never
    /// recorded as the old file's).
    func manifest(path: String, identity: FileIdentity) -> CompiledManifest? {
        guard let file = try? FileIO.readAll(manifestPath(for: path)) else { return nil }
        return CompiledManifest(file: file, identity: identity.fields, path: path)
    }

    /// Writes `manifest`, read from the file at `path` whose identity was `identity`. Best effort, as `store`.
    func store(_ manifest: CompiledManifest, path: String, identity: FileIdentity) {
        write([manifest.file(identity: identity.fields, path: path)], to: manifestPath(for: path))
    }

    /// Named by the manifest's path: each folder of vocabularies has its own.
    func manifestPath(for path: String) -> String {
        "\(folder)/manifest-\(VocabularyRegistry.sha256(Array(path.utf8)).prefix(16)).v\(Self.formatVersion).tokc-manifest"
    }

    // MARK: - Encoders and pipelines beside their tables

    /// What a vocabulary that carries its pipeline keeps beside its compiled table: the encoder (`CompiledEncoder`)
    /// and the file without what the encoder replaces (`VocabularyFileFormat.tokenizerWithPipeline`).
    struct Pipeline {
        var encoder: [UInt8]
        var source: [UInt8]
    }

    /// A stored pipeline as read back: the encoder's bytes where they lie in the mapped file, and the source.
    struct MappedPipeline {
        let file: MappedFile
        let encoder: UnsafeRawBufferPointer
        let source: [UInt8]
    }

    private static let pipelineMagic = Array("TOKCPIP1".utf8)

    /// The pipeline stored for the vocabulary whose sha256 is `sha256`, if the cache holds a sound one. It is
    /// used only with that vocabulary's table (`table(sha256:source:)`), which vouches for the source file.
    ///
    /// The file: the magic `TOKCPIP1`, a `TokenTable.Checksum` of all that follows it (`UInt64`), the sha256
    /// (64 hex digits), then the encoder and the source, each as a `UInt64` length and its bytes (the encoder's
    /// start at byte 88: 8-byte aligned, as its pair table's slots need).
    func pipeline(sha256: String) -> MappedPipeline? {
        guard let file = MappedFile(path: pipelinePath(for: sha256)),
              Self.sealedBody(of: file.bytes, magic: Self.pipelineMagic, sha256: sha256) != nil
        else { return nil }
        let raw = file.bytes
        var offset = 80
        func section() -> UnsafeRawBufferPointer? {
            guard offset + 8 <= raw.count else { return nil }
            let length = raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self).littleEndian
            offset += 8
            guard length <= UInt64(raw.count - offset) else { return nil }
            defer { offset += Int(length) }
            return UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + Int(length))])
        }
        guard let encoder = section(), let source = section(), offset == raw.count else { return nil }
        return MappedPipeline(file: file, encoder: encoder, source: Array(source))
    }

    /// Writes `pipeline` for the vocabulary whose sha256 is `sha256`. Best effort, as `store`.
    func store(_ pipeline: Pipeline, sha256: String) {
        var body = Array(sha256.lowercased().utf8)
        for section in [pipeline.encoder, pipeline.source] {
            withUnsafeBytes(of: UInt64(section.count).littleEndian) { body += $0 }
            body += section
        }
        writeSealed(body, magic: Self.pipelineMagic, to: pipelinePath(for: sha256))
    }

    func pipelinePath(for sha256: String) -> String {
        "\(folder)/\(sha256.lowercased()).v\(Self.formatVersion).tokc-pipeline"
    }

    /// What a compiled table records about its source: the sha256 (64 hex digits) then the file identity.
    private struct Identity {
        var sha256: String
        var file: FileIdentity

        init(sha256: String, file: FileIdentity) {
            (self.sha256, self.file) = (sha256, file)
        }

        init?(_ bytes: [UInt8]) {
            guard bytes.count == 64 + 8 * FileIdentity.fieldCount else { return nil }
            sha256 = String(decoding: bytes[..<64], as: UTF8.self)
            var fields: [UInt64] = []
            for index in 0..<FileIdentity.fieldCount {
                fields.append(bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 64 + 8 * index, as: UInt64.self).littleEndian })
            }
            file = FileIdentity(fields: fields)
        }

        var bytes: [UInt8] {
            var result = Array(sha256.utf8)
            for field in file.fields { withUnsafeBytes(of: field.littleEndian) { result += $0 } }
            return result
        }
    }

    /// A file's size, modification time (ns) and place on disk: equal before and after means unchanged.
    struct FileIdentity: Equatable {
        static let fieldCount = 5
        var fields: [UInt64]

        init(fields: [UInt64]) { self.fields = fields }

        init?(path: String) {
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            #if canImport(Darwin)
            let modified = info.st_mtimespec
            #else
            let modified = info.st_mtim
            #endif
            fields = [
                UInt64(truncatingIfNeeded: info.st_size), UInt64(truncatingIfNeeded: modified.tv_sec),
                UInt64(truncatingIfNeeded: modified.tv_nsec), UInt64(truncatingIfNeeded: info.st_dev),
                UInt64(truncatingIfNeeded: info.st_ino),
            ]
        }
    }
}
