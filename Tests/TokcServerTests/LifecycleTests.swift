import Foundation
import Testing
import Tokc
import TokcClient
import TokcProtocol
import TokcServer

#if canImport(Glibc)
import Glibc
#endif

/// The socket file and the daemon's end: permissions, stale and live sockets, graceful shutdown, SIGTERM.
@Suite(.serialized) struct LifecycleTests {
    static func mode(of path: String) -> mode_t {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode & 0o777 : 0
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    @Test func socketIsPrivateByDefaultAndModeIsConfigurable() async throws {
        let daemon = try await Daemon.start()
        #expect(Self.mode(of: daemon.socketPath) == 0o600)
        await daemon.stop()
        let shared = try await Daemon.start { $0.mode = 0o660 }
        #expect(Self.mode(of: shared.socketPath) == 0o660)
        await shared.stop()
    }

    @Test func aStaleSocketIsReplacedALiveOneIsNot() async throws {
        let folder = try temporaryFolder()
        let path = folder + "/tokc.sock"
        // A socket file nobody listens on: what a killed daemon leaves behind.
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0)
        close(descriptor)
        #expect(Self.exists(path))

        let first = try TokcServer(configuration: .init(socketPath: path))
        try await first.start()
        #expect(try await TokcClient(socketPath: path).health().status == "ok")

        let second = try TokcServer(configuration: .init(socketPath: path))
        await #expect(throws: ServerError.socketInUse(path: path)) { try await second.start() }
        #expect(try await TokcClient(socketPath: path).health().pid == getpid(), "the first daemon still serves")
        await first.shutdown()
        await second.shutdown()
        #expect(!Self.exists(path))

        let regular = folder + "/not-a-socket"
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: regular))
        let third = try TokcServer(configuration: .init(socketPath: regular))
        await #expect(throws: ServerError.notASocket(path: regular)) { try await third.start() }
        #expect(try String(contentsOfFile: regular, encoding: .utf8) == "keep me")
        await third.shutdown()
        try? FileManager.default.removeItem(atPath: folder)
    }

    @Test func shutdownFinishesRequestsInFlightThenRemovesTheSocket() async throws {
        // A grace period no build needs (a debug ThreadSanitizer build counts this request in about 15 s).
        let daemon = try await Daemon.start { $0.shutdownGracePeriod = .seconds(300) }
        let connection = try await daemon.raw(receiveTimeoutSeconds: 300)
        _ = try await connection.ask(#"{"op":"count","texts":["warm up"]}"#)
        let text = String(repeating: "東京タワーは日本の電波塔です。 ", count: 60_000)
        try await connection.send(#"{"id":"big","op":"count","texts":["\#(text)","\#(text)"]}"# + "\n")
        // Shut down once the daemon has read the request (a fixed sleep was too short under ThreadSanitizer).
        try await waitUntil { daemon.server.requestsInFlight == 1 }
        let stopping = Task { await daemon.server.shutdown() }
        let answer = try await connection.readObject()
        #expect(answer["id"] as? String == "big")
        let expected = try Tokenizer.named("o200k_base").count(text)
        #expect(answer["counts"] as? [Int] == [expected, expected])
        #expect(try await connection.readLine() == nil, "then the daemon closes the connection")
        await stopping.value
        #expect(!Self.exists(daemon.socketPath))
        await #expect(throws: RawConnection.Failure.self) { try await daemon.raw() }
        try? FileManager.default.removeItem(atPath: daemon.folder)
    }

    @Test func sigtermStopsTheCommandCleanly() async throws {
        let folder = try temporaryFolder()
        let path = folder + "/tokc.sock"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binaryBesideTests("tokc"))
        process.arguments = ["serve", "--socket", path, "--log-level", "info"]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        try await waitUntil { Self.exists(path) }
        let client = TokcClient(socketPath: path)
        #expect(try await client.count(["hello world"]).total == 2)
        #expect(Self.mode(of: path) == 0o600)
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(!Self.exists(path))
        let log = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(log.contains("serving") && log.contains("shutting down") && log.contains("stopped"), "\(log)")
        await client.close()

        // A second daemon on a live socket refuses, and says why.
        let live = try await Daemon.start()
        let refused = Process()
        refused.executableURL = URL(fileURLWithPath: binaryBesideTests("tokc"))
        refused.arguments = ["serve", "--socket", live.socketPath]
        let refusal = Pipe()
        refused.standardError = refusal
        try refused.run()
        refused.waitUntilExit()
        #expect(refused.terminationStatus == 2)
        let message = String(decoding: refusal.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(message == "tokc: error: \(live.socketPath): a daemon is already serving on this socket; stop it first or choose another --socket\n")
        await live.stop()
        try? FileManager.default.removeItem(atPath: folder)
    }
}

/// A product `swift test` built beside the test bundle.
func binaryBesideTests(_ name: String) -> String {
    URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent(name).path
}
