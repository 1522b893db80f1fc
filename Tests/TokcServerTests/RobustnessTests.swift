import Foundation
import Testing
import Tokc
import TokcClient
import TokcProtocol
import TokcServer

#if canImport(Glibc)
import Glibc
#endif

/// Pipelining, clients that vanish, stall or idle, and what happens to everyone else meanwhile.
@Suite(.serialized) struct RobustnessTests {
    @Test func pipelinedRequestsAreAnsweredInOrderWithTheirIDs() async throws {
        let daemon = try await Daemon.start()
        let connection = try await daemon.raw()
        let tokenizer = try Tokenizer.named("o200k_base")
        // Large and small requests interleaved in one write: the large ones finish last, yet order holds.
        let lines = (0..<60).map { index in
            let text = String(repeating: "word\(index) ", count: index % 3 == 0 ? 20_000 : 3)
            return #"{"id":"r\#(index)","op":"count","texts":["\#(text)"]}"#
        }
        try await connection.send(lines.joined(separator: "\n") + "\n")
        for index in 0..<60 {
            let answer = try await connection.readObject()
            #expect(answer["id"] as? String == "r\(index)")
            let text = String(repeating: "word\(index) ", count: index % 3 == 0 ? 20_000 : 3)
            #expect(answer["total"] as? Int == tokenizer.count(text))
        }
        await daemon.stop()
    }

    @Test func halfClosedInputIsAnsweredThenClosed() async throws {
        let daemon = try await Daemon.start()
        let connection = try await daemon.raw()
        // The last request has no newline: the end of input ends it, as `printf … | nc -U` sends it.
        try await connection.send("{\"id\":1,\"op\":\"health\"}\r\n\n   \n{\"id\":2,\"op\":\"count\",\"texts\":[\"hello world\"]}")
        connection.finishSending()
        #expect(try await connection.readObject()["id"] as? Int == 1)
        #expect(try await connection.readObject()["counts"] as? [Int] == [2])
        #expect(try await connection.readLine() == nil)
        await daemon.stop()
    }

    @Test func aLargeAnswerIsWrittenWholeBeforeAHalfClosedConnectionCloses() async throws {
        let daemon = try await Daemon.start()
        let connection = try await daemon.raw(receiveTimeoutSeconds: 300)
        // About 12 MB of ids: far more than the socket buffers hold, so most of it is still queued in the daemon
        // when the request is done and the input has ended.
        let text = String(repeating: "many small words ", count: 500_000)
        try await connection.send(#"{"id":1,"op":"encode","texts":["\#(text)"]}"#)
        connection.finishSending()
        try await Task.sleep(for: .milliseconds(500))
        let answer = try await connection.readObject()
        let ids = try #require(answer["ids"] as? [[Int]])
        #expect(ids.first == (try Tokenizer.named("o200k_base").encode(text)).map { Int($0) })
        #expect(try await connection.readLine() == nil)
        await daemon.stop()
    }

    @Test func clientsThatVanishMidRequestHurtNobody() async throws {
        let daemon = try await Daemon.start()
        for _ in 0..<20 {
            let quitter = try await daemon.raw()
            try await quitter.send(#"{"id":1,"op":"count","texts":["half a requ"#)
        }
        for _ in 0..<20 {
            // A full request whose sender leaves before the answer is written.
            let quitter = try await daemon.raw()
            try await quitter.send(#"{"id":1,"op":"count","texts":[""# + String(repeating: "x y ", count: 200_000) + "\"]}\n")
        }
        let survivor = try await daemon.raw()
        #expect(try await survivor.ask(#"{"id":7,"op":"count","texts":["hello world"]}"#)["counts"] as? [Int] == [2])
        try await waitUntil { daemon.server.connectionCount == 1 }
        #expect(daemon.server.connectionCount == 1)
        await daemon.stop()
    }

    @Test func aThousandIdleConnectionsDoNotStopTheService() async throws {
        raiseOpenFileLimit()
        let daemon = try await Daemon.start()
        var idle: [RawConnection] = []
        for _ in 0..<1000 { idle.append(try await daemon.raw()) }
        try await waitUntil { daemon.server.connectionCount == 1000 }
        let client = daemon.client()
        let started = ContinuousClock.now
        #expect(try await client.count(["hello world"]).total == 2)
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(try await client.stats().connectionsOpen == 1001)
        idle.removeAll()
        try await waitUntil { daemon.server.connectionCount == 1 }
        await client.close()
        await daemon.stop()
    }

    @Test func aClientThatDoesNotReadOnlyStallsItself() async throws {
        let daemon = try await Daemon.start()
        let hog = try await daemon.raw()
        // Requests whose answers (id lists) are far larger than the socket buffers, never read.
        let text = String(repeating: "stall ", count: 20_000)
        let request = #"{"op":"encode","texts":["\#(text)"]}"# + "\n"
        let writer = Task {
            // Blocks once the daemon stops reading: that is the point. Ends when the test shuts the socket.
            await onOwnThread { for _ in 0..<400 { guard (try? hog.sendNow(Array(request.utf8))) != nil else { return } } }
        }
        try await Task.sleep(for: .milliseconds(500))
        let other = daemon.client()
        let started = ContinuousClock.now
        for _ in 0..<20 { #expect(try await other.count(["hello world"]).total == 2) }
        #expect(ContinuousClock.now - started < .seconds(5))
        let stats = try await other.stats()
        #expect(stats.inFlight <= 40, "the stalled connection holds at most its pending limit (plus one read's worth)")
        shutdown(hog.descriptor, Int32(SHUT_RDWR))
        _ = await writer.result
        await other.close()
        await daemon.stop()
    }
}

/// Polls `condition` every 10 ms for up to `seconds`.
func waitUntil(seconds: Int = 10, _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while !condition() && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
}

/// 1,000 connections need 2,000 descriptors in one process (both ends); raise the soft limit to the hard one.
func raiseOpenFileLimit() {
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    limit.rlim_cur = limit.rlim_max
    setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}
