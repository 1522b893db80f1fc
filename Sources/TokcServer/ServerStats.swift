import Tokc
import TokcProtocol

/// Counters for the `stats` op and the logs: one lock, taken once per request and per connection event.
final class ServerStats: Sendable {
    private struct State {
        var connectionsOpen = 0
        var connectionsTotal = 0
        var inFlight = 0
        var delivered = 0
        var undelivered = 0
        var requests: [String: Int] = [:]
        var errors: [String: Int] = [:]
        var bytesTokenized = 0
        var tokens = 0
    }

    private let state = Locked(State())
    private let started = ContinuousClock.now

    var uptimeSeconds: Double {
        let elapsed = ContinuousClock.now - started
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// Counts a new connection and returns its number, for the logs.
    func connectionOpened() -> Int {
        state.withLock {
            $0.connectionsOpen += 1
            $0.connectionsTotal += 1
            return $0.connectionsTotal
        }
    }
    func connectionClosed() { state.withLock { $0.connectionsOpen -= 1 } }
    func requestStarted() { state.withLock { $0.inFlight += 1 } }
    func requestFinished() { state.withLock { $0.inFlight -= 1 } }

    /// An answer reached the socket (`true`) or could not, the client being gone (`false`).
    func answerWritten(_ delivered: Bool) {
        state.withLock { if delivered { $0.delivered += 1 } else { $0.undelivered += 1 } }
    }

    var connectionsOpen: Int { state.withLock { $0.connectionsOpen } }
    /// Answers written to their connection, and answers lost because the connection had closed: read at
    /// shutdown, where every request the daemon read must be in one or the other.
    var answers: (delivered: Int, undelivered: Int) { state.withLock { ($0.delivered, $0.undelivered) } }
    var inFlight: Int { state.withLock { $0.inFlight } }

    func recordRequest(op: String, error: ErrorCode?) {
        state.withLock {
            $0.requests[op, default: 0] += 1
            if let error { $0.errors[error.rawValue, default: 0] += 1 }
        }
    }

    func recordTokenized(bytes: Int, tokens: Int) {
        state.withLock {
            $0.bytesTokenized += bytes
            $0.tokens += tokens
        }
    }

    func snapshot(id: RequestID, loadedVocabularies: [String]) -> StatsResponse {
        let uptime = uptimeSeconds
        return state.withLock {
            StatsResponse(
                id: id, uptimeSeconds: uptime, connectionsOpen: $0.connectionsOpen,
                connectionsTotal: $0.connectionsTotal, requests: $0.requests, errors: $0.errors, inFlight: $0.inFlight,
                bytesTokenized: $0.bytesTokenized, tokens: $0.tokens, loadedVocabularies: loadedVocabularies)
        }
    }
}
