import NIOCore
import Tokc

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The bytes of requests and answers the daemon holds, across every connection of both faces (socket and HTTP),
/// kept near `limit` by backpressure: a connection that would read while the budget is spent stops reading
/// until answers drain, so no number of clients can exhaust memory.
///
/// What is counted: request bytes from the moment they are read from a socket (a partial line or body
/// included) until the request is answered, and each answer from the moment it exists until it has been
/// written. What is not: vocabularies, thread stacks, and the ids an `encode` builds before its answer exists.
///
/// Progress: if every connection held half a request when the budget ran out, none could finish and nothing
/// would ever be released. So one connection at a time, the *finisher*, may go on reading until the request
/// it is in the middle of is complete; the others wait. Requests are admitted while the bytes held are below
/// `limit - maxRequestBytes`, and a finisher is chosen only when, apart from its own partial request, the
/// bytes held are below that too (or nothing else is in flight to free any), so its one request (at most
/// `maxRequestBytes`) fits in the rest. Bytes held stay under `limit` plus at most one read (64 KiB) per
/// connection that was reading when the budget ran out, and plus answers larger than their requests.
final class MemoryBudget: Sendable {
    /// A connection's share: bytes read and not yet framed into a request, and bytes of its requests and
    /// answers in flight.
    final class Account: @unchecked Sendable {  // Invariant: fields are touched only inside the budget's lock.
        fileprivate let number: Int
        fileprivate var partial = 0
        fileprivate var inFlight = 0
        init(number: Int) { self.number = number }
    }

    private struct State {
        var limit: Int
        /// New reads are admitted while the bytes held are below this.
        var admitBelow: Int
        var partial = 0
        var inFlight = 0
        var peak = 0
        var finisher: Int?
        var nextAccount = 0
        /// Connections waiting for room, by account number: how to wake each (on its own event loop).
        var waiting: [Int: @Sendable () -> Void] = [:]
        var pausedReads = 0
        var held: Int { partial + inFlight }

        mutating func takeWaiters() -> [@Sendable () -> Void] {
            defer { waiting.removeAll() }
            return Array(waiting.values)
        }
    }

    /// The bytes of requests and answers the daemon means to hold at most (`--max-memory`, less what the
    /// process holds otherwise when the bound is process-wide).
    var limit: Int { state.withLock { $0.limit } }
    private let maxRequestBytes: Int
    private let state: Locked<State>

    init(limit: Int, maxRequestBytes: Int) {
        self.maxRequestBytes = maxRequestBytes
        state = Locked(State(limit: limit, admitBelow: max(1, limit - maxRequestBytes)))
    }

    /// Sets the bound (before serving starts).
    func setLimit(_ limit: Int) {
        state.withLock {
            $0.limit = limit
            $0.admitBelow = max(1, limit - maxRequestBytes)
        }
    }

    /// This process's resident memory (`/proc/self/statm`), where there is one.
    static func residentBytes() -> Int? {
        guard let bytes = try? FileIO.readAll("/proc/self/statm") else { return nil }
        let fields = String(decoding: bytes, as: UTF8.self).split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * sysconf(Int32(_SC_PAGESIZE))
    }

    /// A quarter of the machine's physical memory, and at least 256 MiB.
    static var defaultLimit: Int {
        let pages = sysconf(Int32(_SC_PHYS_PAGES))
        let pageSize = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, pageSize > 0 else { return 1 << 30 }
        return max(256 << 20, pages * pageSize / 4)
    }

    func openAccount() -> Account {
        Account(number: state.withLock {
            $0.nextAccount += 1
            return $0.nextAccount
        })
    }

    /// `bytes` were read from the connection's socket and are kept until they make up a request.
    func read(_ bytes: Int, by account: Account) {
        guard bytes > 0 else { return }
        state.withLock { state in
            account.partial += bytes
            state.partial += bytes
            state.peak = max(state.peak, state.held)
        }
    }

    /// `bytes` of what was read make up one request, now in flight until `released`. The connection's request
    /// is complete, so it is no longer the finisher.
    func framed(_ bytes: Int, by account: Account) {
        let wake: [@Sendable () -> Void] = state.withLock { state in
            let moved = min(bytes, account.partial)
            account.partial -= moved
            state.partial -= moved
            account.inFlight += moved
            state.inFlight += moved
            guard state.finisher == account.number else { return [] }
            state.finisher = nil
            return state.takeWaiters()
        }
        for resume in wake { resume() }
    }

    /// `bytes` of what was read were dropped without becoming a request (an over-long line).
    func discarded(_ bytes: Int, by account: Account) {
        release { state in
            let dropped = min(bytes, account.partial)
            account.partial -= dropped
            state.partial -= dropped
        }
    }

    /// An answer of `bytes` bytes exists, in flight until written (or lost with its connection).
    func answerBuilt(_ bytes: Int, by account: Account) {
        state.withLock { state in
            account.inFlight += bytes
            state.inFlight += bytes
            state.peak = max(state.peak, state.held)
        }
    }

    /// `bytes` in flight (a request answered, an answer written) are given back.
    func released(_ bytes: Int, by account: Account) {
        release { state in
            let freed = min(bytes, account.inFlight)
            account.inFlight -= freed
            state.inFlight -= freed
        }
    }

    /// The connection has closed: its partial request is given back (what it has in flight is given back as
    /// each request finishes), and it can no longer be the finisher.
    func close(_ account: Account) {
        release { state in
            state.waiting[account.number] = nil
            state.partial -= account.partial
            account.partial = 0
            if state.finisher == account.number { state.finisher = nil }
        }
    }

    private func release(_ change: (inout State) -> Void) {
        let wake: [@Sendable () -> Void] = state.withLock { state in
            change(&state)
            guard !state.waiting.isEmpty, state.held < state.admitBelow || state.finisher == nil else { return [] }
            return state.takeWaiters()
        }
        for resume in wake { resume() }
    }

    /// Whether the connection may read now. `midRequest`: it holds the start of a request it cannot finish
    /// without reading more. When the answer is no, `resume` is kept and called (from any thread) once there
    /// may be room.
    func mayRead(_ account: Account, midRequest: Bool, resume: @escaping @Sendable () -> Void) -> Bool {
        state.withLock { state in
            let allowed: Bool
            if state.finisher == account.number {
                allowed = true
            } else if state.held < state.admitBelow {
                allowed = true
            } else if midRequest && state.finisher == nil
                        && (state.held - account.partial < state.admitBelow || state.inFlight == 0) {
                state.finisher = account.number
                allowed = true
            } else {
                allowed = false
            }
            if allowed {
                state.waiting[account.number] = nil
            } else if state.waiting.updateValue(resume, forKey: account.number) == nil {
                state.pausedReads += 1
            }
            return allowed
        }
    }

    /// For `stats`: bytes held now, the most held at once, and how many times a connection had to wait.
    var snapshot: (held: Int, peak: Int, pausedReads: Int) {
        state.withLock { ($0.held, $0.peak, $0.pausedReads) }
    }
}

/// Reading under the budget, for a connection's handler: `read` passes only when the budget allows, and a
/// held read is retried on the connection's loop when room returns.
struct BudgetedReads {
    let budget: MemoryBudget
    let account: MemoryBudget.Account
    private(set) var held = false

    init(budget: MemoryBudget, account: MemoryBudget.Account) {
        self.budget = budget
        self.account = account
    }

    /// Calls `context.read()` if the budget allows; otherwise holds the read, and `retry` runs on the event loop
    /// when there may be room (the handler then calls this again if the read is still held).
    mutating func read(context: ChannelHandlerContext, midRequest: Bool, retry: @escaping @Sendable () -> Void) {
        let loop = context.eventLoop
        if budget.mayRead(account, midRequest: midRequest, resume: { loop.execute(retry) }) {
            held = false
            context.read()
        } else {
            held = true
        }
    }
}
