/// Standard base64 (RFC 4648 §4, `+/`, `=` padding), decoded straight into an output array: the `.tiktoken`
/// reader decodes 200,000 short tokens into one buffer without a `Data` per line.
enum Base64 {
    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        for (value, symbol) in alphabet.enumerated() { table[Int(symbol)] = UInt8(value) }
        return table
    }()

    /// Appends the decoding of `text` to `output`. Returns false (output then holds a partial decoding) if
    /// `text` is not canonical padded base64.
    static func decode(_ text: UnsafeBufferPointer<UInt8>, appendingTo output: inout [UInt8]) -> Bool {
        let start = output.count
        var written: Int?
        output.append(contentsOf: repeatElement(0, count: text.count / 4 * 3))
        output.withUnsafeMutableBufferPointer { buffer in
            written = decode(text, into: buffer.baseAddress! + start)
        }
        output.removeLast(output.count - start - (written ?? 0))
        return written != nil
    }

    /// Decodes `text` into `output`, which has room for `text.count / 4 * 3` bytes, and returns the number of
    /// bytes written; nil if `text` is not canonical padded base64. The `.tiktoken` reader calls this once per
    /// line into one preallocated buffer: a quad costs four table loads and one check, with no array append.
    static func decode(_ text: UnsafeBufferPointer<UInt8>, into output: UnsafeMutablePointer<UInt8>) -> Int? {
        guard text.count % 4 == 0 else { return nil }
        guard let input = text.baseAddress, text.count > 0 else { return 0 }
        return decodeTable.withUnsafeBufferPointer { table -> Int? in
            let quads = text.count / 4
            var written = 0
            // Every quad but the last has no padding: four symbols, three bytes. Valid symbols are < 64, the
            // table marks the rest 0xFF, so one OR finds any invalid symbol in the quad.
            for quad in 0..<(quads - 1) {
                let at = input + quad * 4
                let a = table[Int(at[0])], b = table[Int(at[1])], c = table[Int(at[2])], d = table[Int(at[3])]
                guard (a | b | c | d) & 0xC0 == 0 else { return nil }
                output[written] = a << 2 | b >> 4
                output[written + 1] = b << 4 | c >> 2
                output[written + 2] = c << 6 | d
                written += 3
            }
            let at = input + (quads - 1) * 4
            let a = table[Int(at[0])], b = table[Int(at[1])]
            guard (a | b) & 0xC0 == 0 else { return nil }
            output[written] = a << 2 | b >> 4
            if at[2] == UInt8(ascii: "=") {
                // "xx==": one byte; the unused low bits of the second symbol must be zero (canonical form).
                guard at[3] == UInt8(ascii: "="), b & 0x0F == 0 else { return nil }
                return written + 1
            }
            let c = table[Int(at[2])]
            guard c & 0xC0 == 0 else { return nil }
            output[written + 1] = b << 4 | c >> 2
            if at[3] == UInt8(ascii: "=") {
                guard c & 0x03 == 0 else { return nil }
                return written + 2
            }
            let d = table[Int(at[3])]
            guard d & 0xC0 == 0 else { return nil }
            output[written + 2] = c << 6 | d
            return written + 3
        }
    }

    static func encode(_ bytes: some Collection<UInt8>) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var iterator = bytes.makeIterator()
        while let first = iterator.next() {
            let second = iterator.next(), third = iterator.next()
            output.append(alphabet[Int(first >> 2)])
            output.append(alphabet[Int((first & 0x03) << 4 | (second ?? 0) >> 4)])
            output.append(second.map { alphabet[Int(($0 & 0x0F) << 2 | (third ?? 0) >> 6)] } ?? UInt8(ascii: "="))
            output.append(third.map { alphabet[Int($0 & 0x3F)] } ?? UInt8(ascii: "="))
        }
        return String(decoding: output, as: UTF8.self)
    }
}
