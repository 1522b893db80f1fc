import Tokc

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A write to standard output failed (a closed pipe, a full disk).
struct OutputError: Error, CustomStringConvertible {
    let reason: String
    var description: String { "cannot write to standard output: \(reason)" }
}

/// Buffered writes to standard output. Commands print through this, never through `print`, so bytes that are
/// not UTF-8 (decoded tokens) pass through untouched and a broken pipe is an error, not a crash.
enum Output {
    /// The CLI runs its commands on the main thread only; nothing else touches this buffer.
    nonisolated(unsafe) private static var pending: [UInt8] = []

    static func write(_ bytes: [UInt8]) throws {
        pending += bytes
        if pending.count >= 1 << 16 { try drain() }
    }

    static func write(_ text: String) throws {
        try write(Array(text.utf8))
    }

    static func line(_ text: String) throws {
        try write(text + "\n")
    }

    /// Writes what is buffered; every command ends with it.
    static func finish() throws {
        try drain()
    }

    /// Writes what is buffered, ignoring failure: before an error message, which matters more.
    static func flush() {
        try? drain()
    }

    private static func drain() throws {
        defer { pending.removeAll(keepingCapacity: true) }
        try writeAll(pending, to: STDOUT_FILENO)
    }

    static func writeAll(_ bytes: [UInt8], to descriptor: Int32) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBufferPointer { buffer in
                Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw OutputError(reason: String(cString: strerror(errno)))
            }
            offset += written
        }
    }
}

/// Options every command that loads a vocabulary shares.
import ArgumentParser

struct VocabularyOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("A vocabulary name from 'tokc vocab list', or a path to a .tiktoken file.", valueName: "name|path"))
    var vocab: String?

    @Option(name: .long, help: ArgumentHelp("Pre-tokenizer pattern for a vocabulary file no manifest describes: o200k, cl100k, gpt2, or a regex.", valueName: "name|regex"))
    var pattern: String?

    @Flag(name: .long, help: "Recognise the vocabulary's special tokens (<|endoftext|> ...) in the input. Off: their text is ordinary text.")
    var allowSpecial = false

    var policy: SpecialTokenPolicy { allowSpecial ? .all : .none }

    /// The tokenizer named by `--vocab`, or the scheme's default.
    func load(scheme: Scheme = .bpe) throws -> Tokenizer {
        let registry = VocabularyRegistry.standard
        let name = try vocab ?? registry.defaultVocabulary(for: scheme)
        return try registry.load(name, pattern: pattern)
    }
}

extension Scheme: ExpressibleByArgument {}
