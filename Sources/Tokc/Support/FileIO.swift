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

    /// The first `count` bytes of `path` (fewer if it is shorter), without reading the rest.
    public static func readPrefix(_ path: String, count: Int) throws(TokcError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .unreadableFile(path: path, reason: systemError()) }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: count)
        var used = 0
        while used < count {
            let received = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + used, count - used) }
            if received < 0 && errno == EINTR { continue }
            if received < 0 { throw .unreadableFile(path: path, reason: systemError()) }
            if received == 0 { break }
            used += received
        }
        return Array(bytes[..<used])
    }

    /// Whether `path` names an existing regular file.
    public static func isFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    /// Writes `parts`, one after the other, as the file `path`, atomically: into a temporary file in the same
    /// folder, renamed over `path` once complete, so a reader sees the old file or the whole new one.
    public static func writeAtomically(_ parts: [[UInt8]], to path: String) throws(TokcError) {
        let folder = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        // Unique per writer, threads of one process included, so two writers never share a temporary file.
        let temporary = "\(folder)/.\(path.split(separator: "/").last ?? "file").\(getpid())-\(UInt64.random(in: 0...UInt64.max)).tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .unwritableFile(path: temporary, reason: systemError()) }
        var failure: String?
        for part in parts where failure == nil {
            part.withUnsafeBytes { bytes in
                var written = 0
                while written < bytes.count {
                    let result = write(descriptor, bytes.baseAddress! + written, bytes.count - written)
                    if result < 0 {
                        if errno == EINTR { continue }
                        failure = systemError()
                        return
                    }
                    written += result
                }
            }
        }
        if close(descriptor) != 0 && failure == nil { failure = systemError() }
        if failure == nil && rename(temporary, path) != 0 { failure = systemError() }
        if let failure {
            unlink(temporary)
            throw .unwritableFile(path: path, reason: failure)
        }
    }

    /// Creates `folder` and any missing parent, like `mkdir -p`.
    static func createFolders(_ folder: String) throws(TokcError) {
        var info = stat()
        if stat(folder, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFDIR else { throw .unwritableFile(path: folder, reason: "exists and is not a folder") }
            return
        }
        if let slash = folder.lastIndex(of: "/"), slash != folder.startIndex {
            try createFolders(String(folder[..<slash]))
        }
        guard mkdir(folder, 0o755) == 0 || errno == EEXIST else { throw .unwritableFile(path: folder, reason: systemError()) }
    }

    static func systemError() -> String {
        String(cString: strerror(errno))
    }
}
