#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A value behind a pthread mutex, for state shared by threads (caches, pools, the daemon's counters).
///
/// Why not `Synchronization.Mutex`: on Linux ThreadSanitizer cannot see that lock (the Synchronization module
/// is not instrumented), so it reports every access the lock guards as a race. Two threads adding 100,000 each
/// under a `Mutex` end at exactly 200,000 and draw three "Swift access race" reports, with `-O` or without;
/// under a pthread mutex, which TSan intercepts, none. With this lock a TSan report in tokc means a real race.
package final class Locked<Value>: @unchecked Sendable {  // Invariant: `value` is touched only inside `withLock`.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    package init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    package func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
