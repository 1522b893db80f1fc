#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Which special tokens `encode` recognises in the text. Whatever is not recognised is encoded as ordinary
/// text, as tiktoken's `encode_ordinary` does: `.none` is the default, so text from users can never smuggle
/// in a control token.
public enum SpecialTokenPolicy: Sendable, Equatable {
    case none
    case all
    case only(Set<String>)
}

/// A vocabulary's special tokens (`<|endoftext|>` …): text that maps to one id without going through the
/// encoder, and only when the caller allows it.
public struct SpecialTokens: Sendable {
    private struct Entry: Sendable {
        let text: String
        let bytes: [UInt8]
        let id: TokenID
    }

    /// Longest first, so that at one position the longest allowed special wins.
    private let entries: [Entry]
    /// The first bytes of all specials: the scan tests one table entry per text byte.
    private let isFirstByte: [Bool]
    /// The one byte every special begins with, where there is one (`<` for most vocabularies): the scan is then a
    /// `memchr` from one candidate to the next instead of a table test per byte.
    private let onlyFirstByte: UInt8?
    private let textByID: [TokenID: [UInt8]]
    /// By text: chat encodings look their control tokens up per request (Tekken has 1,000 specials).
    private let idByText: [String: TokenID]

    public init(_ tokens: [String: TokenID]) {
        entries = tokens.map { Entry(text: $0.key, bytes: Array($0.key.utf8), id: $0.value) }
            .filter { !$0.bytes.isEmpty }
            .sorted { ($0.bytes.count, $1.text) > ($1.bytes.count, $0.text) }
        var isFirstByte = [Bool](repeating: false, count: 256)
        for entry in entries { isFirstByte[Int(entry.bytes[0])] = true }
        self.isFirstByte = isFirstByte
        let firstBytes = Set(entries.map { $0.bytes[0] })
        onlyFirstByte = firstBytes.count == 1 ? firstBytes.first : nil
        textByID = Dictionary(entries.map { ($0.id, $0.bytes) }, uniquingKeysWith: { first, _ in first })
        idByText = Dictionary(entries.map { ($0.text, $0.id) }, uniquingKeysWith: { first, _ in first })
    }

    public var isEmpty: Bool { entries.isEmpty }

    public var count: Int { entries.count }

    public var maxID: TokenID? { entries.map(\.id).max() }

    /// The id of special token `text`, or nil if it is not one.
    public func id(of text: String) -> TokenID? { idByText[text] }

    /// Every special token and its id, shortest text first.
    public var all: [(text: String, id: TokenID)] { entries.reversed().map { ($0.text, $0.id) } }

    /// The bytes of special token `id`, or nil if `id` is not special.
    public func bytes(of id: TokenID) -> [UInt8]? { textByID[id] }

    /// The first allowed special at or after `offset`: its byte range and id.
    func firstMatch(
        in text: UnsafeBufferPointer<UInt8>, from offset: Int, policy: SpecialTokenPolicy
    ) -> (range: Range<Int>, id: TokenID)? {
        var position = offset
        while position < text.count {
            if let only = onlyFirstByte, let base = text.baseAddress {
                guard let found = memchr(base + position, Int32(only), text.count - position) else { return nil }
                position = UnsafePointer<UInt8>(found.assumingMemoryBound(to: UInt8.self)) - base
            }
            if isFirstByte[Int(text[position])], let base = text.baseAddress {
                let remaining = text.count - position
                for entry in entries where entry.bytes.count <= remaining {
                    // A chat prompt stops here at every control token: the middle and last bytes rule out most
                    // entries before one memcmp (not a generic elementsEqual) confirms the match.
                    let length = entry.bytes.count
                    guard entry.bytes[length - 1] == base[position + length - 1], entry.bytes[length / 2] == base[position + length / 2] else {
                        continue
                    }
                    let equal = entry.bytes.withUnsafeBufferPointer { special in
                        special.baseAddress.map { memcmp($0, base + position, length) == 0 } ?? false
                    }
                    if equal && policy.allows(entry.text) {
                        return (position..<(position + entry.bytes.count), entry.id)
                    }
                }
            }
            position += 1
        }
        return nil
    }
}

extension SpecialTokenPolicy {
    func allows(_ special: String) -> Bool {
        switch self {
        case .none: return false
        case .all: return true
        case .only(let allowed): return allowed.contains(special)
        }
    }
}
