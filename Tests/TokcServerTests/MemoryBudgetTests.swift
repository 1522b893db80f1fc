import Foundation
import Testing
import TokcServer

/// `--max-memory` under many large requests at once, on both faces: every answer right, and the bytes the
/// daemon held (its own count, `stats`) never past the bound by more than one read per connection. The same at
/// full size (64 x 60 MB, the daemon's resident memory measured) is `scripts/memory-load.py`, too slow for CI.
@Suite struct MemoryBudgetTests {
    @Test func sixtyFourLargeRequestsAtOnceStayUnderTheBound() async throws {
        let limit = 4 << 20
        let daemon = try await Daemon.start {
            $0.http = .init(host: "127.0.0.1", port: 0)
            $0.maxRequestBytes = 1 << 20
            $0.maxMemory = limit
            $0.preload = ["o200k_base"]
        }
        let port = try #require(daemon.server.httpPort)
        let socketPath = daemon.socketPath
        // " hello" is one o200k_base token: client k's count is its number of repeats, different for each.
        let repeats = (0..<64).map { 150_000 - 101 * $0 }
        let answers = await withTaskGroup(of: (Int, Int?, String).self) { group in
            for (client, count) in repeats.enumerated() {
                group.addTask {
                    await onOwnThread {
                        let body = #"{"op":"count","texts":[""# + String(repeating: " hello", count: count) + #""]}"#
                        do {
                            if client % 2 == 0 {
                                let connection = try RawConnection(path: socketPath, receiveTimeoutSeconds: 120)
                                try connection.sendNow(Array((body + "\n").utf8))
                                let line = try connection.readLineNow() ?? ""
                                let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
                                return (client, object?["total"] as? Int, String(line.prefix(200)))
                            }
                            let descriptor = try HTTPExchange.connect(port: port)
                            defer { close(descriptor) }
                            let request = HTTPExchange.request("POST", "/v1/count", port: port, body: body)
                            var offset = 0
                            while offset < request.count {
                                let written = request[offset...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                                guard written > 0 else { break }
                                offset += written
                            }
                            let answer = try HTTPExchange.readAnswer(descriptor)
                            return (client, answer.json["total"] as? Int, String(answer.text.prefix(200)))
                        } catch {
                            return (client, nil, "\(error)")
                        }
                    }
                }
            }
            var all: [(Int, Int?, String)] = []
            for await answer in group { all.append(answer) }
            return all
        }
        for (client, total, text) in answers {
            #expect(total == repeats[client], "client \(client): \(text)")
        }
        let stats = try await daemon.raw().ask(#"{"op":"stats"}"#)
        let peak = try #require(stats["memory_peak_bytes"] as? Int)
        #expect(stats["max_memory_bytes"] as? Int == limit)
        #expect(peak <= limit + 64 * 65536, "held \(peak) bytes at most, bound \(limit)")
        #expect(peak > limit / 2, "the clients' 57 MB should have filled the budget (peak \(peak))")
        #expect((stats["reads_paused"] as? Int ?? 0) > 0)
        #expect(stats["memory_held_bytes"] as? Int ?? -1 < 1024, "\(stats)")
        await daemon.stop()
    }
}
