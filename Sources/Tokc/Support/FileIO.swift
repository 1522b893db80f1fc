#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file reads with errors that name the file and the system's reason.
public enum FileIO {
    /// Reads all of `path`; `-` reads standard input.
    public static func readAll(_ path: String) throws(TokcError) -> [UInt8] {
        let descriptor = path == "-" ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .unreadableFile(path: path, reason: systemError()) }
        defer { if descriptor != STDIN_FILENO { close(descriptor) } }

        var info = stat()
        let isRegular = fstat(descriptor, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
        if !isRegular && (info.st_mode & S_IFMT) == S_IFDIR {
            throw .unreadableFile(path: path, reason: "is a directory")
        }
        var buffer = UnsafeMutableRawBufferPointer.allocate(
            byteCount: isRegular ? Int(info.st_size) + 1 : 1 << 16, alignment: 1)
        defer { buffer.deallocate() }
        var used = 0
        while true {
            if used == buffer.count {
                let grown = UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count * 2, alignment: 1)
                grown.copyMemory(from: UnsafeRawBufferPointer(buffer))
                buffer.deallocate()
                buffer = grown
            }
            let received = read(descriptor, buffer.baseAddress! + used, buffer.count - used)
            if received < 0 {
                if errno == EINTR { continue }
                throw .unreadableFile(path: path, reason: systemError())
            }
            if received == 0 { break }
            used += received
        }
        return Array(buffer[0..<used])
    }

    /// Whether `path` names an existing regular file.
    public static func isFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    static func systemError() -> String {
        String(cString: strerror(errno))
    }
}
