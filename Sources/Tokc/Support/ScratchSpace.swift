#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Temporary buffers for the encoders' per-piece work (merge heaps, lattices) without a malloc per piece, and
/// the thread's `MergeMemo`.
///
/// `withUnsafeTemporaryAllocation` puts a buffer on the stack only up to 1 KiB on Linux; above that it calls
/// malloc. A heap merge needs 40 bytes per byte of piece, so every piece of Japanese or Chinese longer than
/// ~25 bytes cost two mallocs (the ordo-one suite counted 3,473 in one `count` of the ja held-out file,
/// o200k_base). Here a buffer over 1 KiB comes from a per-thread arena, a bump allocator that nested buffers
/// share (a heap merge takes two), kept for the thread's life and grown only when nothing is borrowed from it,
/// up to `arenaLimit`. A request that does not fit (a multi-megabyte one-piece text) gets its own allocation:
/// one per call, not one per token.
enum ScratchSpace {
    static let stackLimit = 1024
    static let arenaLimit = 4 << 20

    private final class Arena {
        var base: UnsafeMutableRawPointer?
        var capacity = 0
        var used = 0

        deinit {
            base?.deallocate()
        }
    }

    #if canImport(Darwin)
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { Unmanaged<Arena>.fromOpaque($0).release() }
        return key
    }()
    #else
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { pointer in
            if let pointer { Unmanaged<Arena>.fromOpaque(pointer).release() }
        }
        return key
    }()
    #endif

    private static var arena: Arena {
        if let existing = pthread_getspecific(key) { return Unmanaged<Arena>.fromOpaque(existing).takeUnretainedValue() }
        let made = Arena()
        pthread_setspecific(key, Unmanaged.passRetained(made).toOpaque())
        return made
    }

    /// The key of the thread's `MergeMemo` entries: a raw pointer, not a class, because the memo is read once
    /// per piece and a class reference would cost a retain and a release each time.
    private static let memoKey: pthread_key_t = {
        var key = pthread_key_t()
        #if canImport(Darwin)
        pthread_key_create(&key) { $0.deallocate() }
        #else
        pthread_key_create(&key) { pointer in pointer?.deallocate() }
        #endif
        return key
    }()

    /// This thread's `MergeMemo` entries (all empty at first), for the thread's life.
    static var mergeMemo: UnsafeMutablePointer<MergeMemo.Entry> {
        if let memo = pthread_getspecific(memoKey) { return memo.assumingMemoryBound(to: MergeMemo.Entry.self) }
        return makeMergeMemo()
    }

    @inline(never)
    private static func makeMergeMemo() -> UnsafeMutablePointer<MergeMemo.Entry> {
        // The memo's entries, then its hot pieces (`MergeMemo.Hot`), in one allocation found by one lookup.
        let bytes = MergeMemo.entryCount * MemoryLayout<MergeMemo.Entry>.stride + MergeMemo.hotCount * MemoryLayout<MergeMemo.Hot>.stride
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        let entries = raw.bindMemory(to: MergeMemo.Entry.self, capacity: MergeMemo.entryCount)
        pthread_setspecific(memoKey, entries)
        return entries
    }

    /// Calls `body` with an uninitialised buffer of `capacity` elements, valid only during the call.
    @inline(__always)
    static func withBuffer<Element, Result>(
        of type: Element.Type, capacity: Int, _ body: (UnsafeMutableBufferPointer<Element>) -> Result
    ) -> Result {
        let bytes = MemoryLayout<Element>.stride * max(capacity, 1)
        if bytes <= stackLimit {
            return withUnsafeTemporaryAllocation(of: Element.self, capacity: capacity, body)
        }
        return withArenaBuffer(of: type, capacity: capacity, bytes: bytes, body)
    }

    private static func withArenaBuffer<Element, Result>(
        of type: Element.Type, capacity: Int, bytes: Int, _ body: (UnsafeMutableBufferPointer<Element>) -> Result
    ) -> Result {
        let arena = self.arena
        let alignment = max(MemoryLayout<Element>.alignment, 16)
        let offset = (arena.used + alignment - 1) & ~(alignment - 1)
        if offset + bytes > arena.capacity && arena.used == 0 && bytes <= arenaLimit {
            // Nothing is borrowed: the arena may move. Grow to the next power of two.
            arena.base?.deallocate()
            var capacity = 64 << 10
            while capacity < bytes { capacity <<= 1 }
            arena.base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
            arena.capacity = capacity
        }
        guard let base = arena.base, offset + bytes <= arena.capacity else {
            let own = UnsafeMutablePointer<Element>.allocate(capacity: capacity)
            defer { own.deallocate() }
            return body(UnsafeMutableBufferPointer(start: own, count: capacity))
        }
        let previous = arena.used
        arena.used = offset + bytes
        defer { arena.used = previous }
        let start = (base + offset).bindMemory(to: Element.self, capacity: capacity)
        return body(UnsafeMutableBufferPointer(start: start, count: capacity))
    }
}
