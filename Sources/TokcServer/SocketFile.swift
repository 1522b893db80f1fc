#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why the daemon could not start (or stop cleanly) on its socket path.
public enum ServerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Another process answers on the socket: it is not ours to take.
    case socketInUse(path: String)
    /// The path exists and is not a socket: tokc never deletes a file it did not make.
    case notASocket(path: String)
    /// Unix socket paths hold at most 107 bytes.
    case pathTooLong(path: String, limit: Int)
    /// The socket file could not be made: the folder is missing, not writable, read-only or full.
    case cannotCreateSocket(path: String, reason: String)
    /// A system call failed.
    case system(operation: String, path: String, reason: String)

    public var description: String {
        switch self {
        case let .socketInUse(path):
            return "\(path): a daemon is already serving on this socket; stop it first or choose another --socket"
        case let .notASocket(path):
            return "\(path): exists and is not a socket; not replacing it"
        case let .pathTooLong(path, limit):
            return "\(path): a Unix socket path holds at most \(limit) bytes, this one has \(path.utf8.count)"
        case let .cannotCreateSocket(path, reason):
            return "\(path): cannot create the socket: \(reason)"
        case let .system(operation, path, reason):
            return "\(path): \(operation) failed: \(reason)"
        }
    }
}

/// The socket file's life: claim the path (replacing a stale socket, refusing a live one), set its mode,
/// and remove it at shutdown.
enum SocketFile {
    static let maxPathBytes = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

    /// Makes `path` free for a new socket. A socket file nobody answers on is left over from a daemon that died
    /// and is removed; a socket somebody answers on is in use; anything else at the path is not ours.
    static func claim(_ path: String) throws(ServerError) {
        guard path.utf8.count <= maxPathBytes else { throw .pathTooLong(path: path, limit: maxPathBytes) }
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return }
            // EACCES here: a folder on the way this user may not even look into (no search permission).
            if errno == EACCES { throw creationFailure(path, errno: EACCES, lookingInside: true) }
            throw .system(operation: "stat", path: path, reason: String(cString: strerror(errno)))
        }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else { throw .notASocket(path: path) }
        switch probe(path) {
        case 0:
            throw .socketInUse(path: path)
        case ECONNREFUSED, ENOENT:
            guard unlink(path) == 0 || errno == ENOENT else {
                throw .system(operation: "remove stale socket", path: path, reason: String(cString: strerror(errno)))
            }
        case let failure:
            throw .system(operation: "connect", path: path, reason: String(cString: strerror(failure)))
        }
    }

    /// Connects to `path` and hangs up: 0 when something answers, else the errno.
    private static func probe(_ path: String) -> Int32 {
        #if canImport(Glibc) || canImport(Musl)
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
        let descriptor = socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { return errno }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (offset, byte) in path.utf8.enumerated() { raw[offset] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return result == 0 ? 0 : errno
    }

    /// What a failed `bind` means for the user: the system's reason, and for the usual ones where to look.
    static func creationFailure(_ path: String, errno code: Int32, lookingInside: Bool = false) -> ServerError {
        let folder = path.lastIndex(of: "/").map { String(path[..<$0]) }.map { $0.isEmpty ? "/" : $0 } ?? "."
        let reason = String(cString: strerror(code))
        let hint = switch code {
        case EACCES where lookingInside: "; this user cannot enter the folder \(folder) or one above it"
        case ENOENT, ENOTDIR: "; the folder \(folder) does not exist"
        case EACCES, EPERM, EROFS: "; this user cannot write to the folder \(folder)"
        case ENOSPC, EDQUOT: "; the file system holding \(folder) is full"
        default: ""
        }
        return .cannotCreateSocket(path: path, reason: reason + hint)
    }

    static func setMode(_ path: String, _ mode: mode_t) throws(ServerError) {
        guard chmod(path, mode) == 0 else {
            throw .system(operation: "chmod", path: path, reason: String(cString: strerror(errno)))
        }
    }

    /// Removes the socket file if it is still a socket (a successor may have replaced it with something else).
    static func remove(_ path: String) {
        var info = stat()
        if lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFSOCK { unlink(path) }
    }
}
