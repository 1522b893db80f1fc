/// The spelling of byte-fallback tokens, `<0x0A>` for byte 10, as SentencePiece writes them and Hugging Face
/// looks them up (`<0x{:02X}>`): two upper-case hex digits.
enum ByteFallback {
    private static let hex = Array("0123456789ABCDEF".utf8)

    /// The byte a token spells, or nil if it is not a byte-fallback token.
    /// The same for a text kept in a larger buffer (`PackedTexts`).
    static func byte(ofToken text: ArraySlice<UInt8>) -> UInt8? {
        text.count == 6 ? byte(ofToken: Array(text)) : nil
    }

    static func byte(ofToken text: [UInt8]) -> UInt8? {
        guard text.count == 6, text.starts(with: Array("<0x".utf8)), text[5] == UInt8(ascii: ">"),
              let h = hex.firstIndex(of: text[3]), let l = hex.firstIndex(of: text[4]) else { return nil }
        return UInt8(h << 4 | l)
    }

    /// The token that spells `byte`.
    static func token(of byte: UInt8) -> [UInt8] {
        Array("<0x".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 15)], UInt8(ascii: ">")]
    }
}
