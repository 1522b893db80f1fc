#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only and private, its pages read in up front (the compiled caches check every byte
/// anyway): what a compiled table or encoder points into instead of copying megabytes into fresh memory, whose
/// page faults cost more than the reading. Unmapped when the last owner goes.
final class MappedFile: @unchecked Sendable {  // Invariant: the mapping is read-only and lives as long as self.
    let bytes: UnsafeRawBufferPointer

    /// The file at `path` mapped; nil if it cannot be opened or mapped, or is empty.
    init?(path: String) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_size > 0 else { return nil }
        let length = Int(info.st_size)
        #if os(Linux)
        let flags = MAP_PRIVATE | MAP_POPULATE
        #else
        let flags = MAP_PRIVATE
        #endif
        guard let base = mmap(nil, length, PROT_READ, flags, descriptor, 0), base != MAP_FAILED else { return nil }
        bytes = UnsafeRawBufferPointer(start: base, count: length)
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count)
    }
}
