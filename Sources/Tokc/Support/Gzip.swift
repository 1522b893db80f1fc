import CompressNIO
import NIOCore

/// gzip, for the larger shipped vocabularies (`"compression": "gzip"` in the manifest), through compress-nio
/// (zlib). The manifest's sha256 is of the bytes after decompressing, so a file is checked as its source had it.
enum Gzip {
    /// The first two bytes of every gzip file.
    static let magic: [UInt8] = [0x1F, 0x8B]

    /// The decompressed bytes of a whole gzip file, or an error naming the file.
    static func decompress(_ compressed: [UInt8], path: String) throws(TokcError) -> [UInt8] {
        // The trailer ends with the original size modulo 2³² (ISIZE): one buffer of that size, when it is sane.
        guard compressed.count >= 18, compressed.starts(with: magic) else {
            throw .invalidVocabulary(path: path, reason: "the manifest says gzip, but the file does not start as gzip does (1F 8B)")
        }
        let size = compressed.suffix(4).reversed().reduce(0) { $0 << 8 | Int($1) }
        var input = ByteBuffer(bytes: compressed)
        do {
            var output: ByteBuffer
            if size > 0 && size < 1 << 31 {
                output = ByteBufferAllocator().buffer(capacity: size)
                try input.decompress(to: &output, with: .gzip())
            } else {
                output = try input.decompress(with: .gzip())
            }
            return output.readBytes(length: output.readableBytes) ?? []
        } catch {
            throw .invalidVocabulary(path: path, reason: "the gzip data cannot be decompressed (\(error))")
        }
    }
}
