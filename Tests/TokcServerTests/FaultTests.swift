import Foundation
import Testing
import TokcTestSupport
import Tokc
import TokcClient
import TokcProtocol
import TokcServer

#if canImport(Glibc)
import Glibc
#endif

/// Faults from outside: client processes killed mid-request, thousands of connections, a 200 MB request,
/// request lines that are not UTF-8, SIGTERM under load, and a socket folder that cannot take the socket.
@Suite(.serialized) struct FaultTests {
    @Test func clientProcessesKilledMidRequestHurtNobody() async throws {
        let daemon = try await Daemon.start()
        // `tokc count --socket P -` sends its standard input as one text: 60 MB, so a kill lands while it is
        // still sending, or while the daemon counts, or while the answer is on its way.
        let input = daemon.folder + "/input.txt"
        try Data(FaultTests.mixedText(bytes: 60_000_000, seed: 3)).write(to: URL(fileURLWithPath: input))
        // Each client is killed a set time after its own start, timed on a thread of its own with `usleep`:
        // timed by `Task.sleep` on the cooperative pool (two threads on a two-core machine, which the other
        // suites' blocking waits can hold), a 15 ms sleep stretched to seconds in a fresh-clone CI run and the
        // client finished its count before the kill (exit 0). Not sooner than 15 ms: a kill 5 ms after `run()`
        // can land before the client has connected, which tests nothing of the daemon.
        let delays = [15, 30, 45, 60, 100, 150]
        let folder = daemon.folder, socketPath = daemon.socketPath
        let endings = await onOwnThread { () -> [String?] in
            var clients: [Process?] = []
            for delay in delays {
                let client = Process()
                client.executableURL = URL(fileURLWithPath: binaryBesideTests("tokc"))
                client.arguments = ["count", "--socket", socketPath, "-"]
                client.standardOutput = FileHandle.nullDevice
                let errors = folder + "/client-\(delay).err"
                FileManager.default.createFile(atPath: errors, contents: nil)
                guard let source = try? FileHandle(forReadingFrom: URL(fileURLWithPath: input)),
                      let sink = try? FileHandle(forWritingTo: URL(fileURLWithPath: errors)) else {
                    clients.append(nil); continue
                }
                client.standardInput = source
                client.standardError = sink
                guard (try? client.run()) != nil else { clients.append(nil); continue }
                usleep(UInt32(delay) * 1_000)
                kill(client.processIdentifier, SIGKILL)
                clients.append(client)
            }
            return zip(clients, delays).map { client, delay in
                guard let client else { return "the client to be killed after \(delay) ms did not start" }
                client.waitUntilExit()
                if client.terminationReason == .uncaughtSignal && client.terminationStatus == SIGKILL { return nil }
                let errors = (try? String(contentsOfFile: folder + "/client-\(delay).err", encoding: .utf8)) ?? ""
                return "the client to be killed after \(delay) ms ended by itself (\(client.terminationReason), \(client.terminationStatus)): \(errors)"
            }
        }
        for ending in endings { #expect(ending == nil, "\(ending ?? "")") }
        let survivor = try await daemon.raw()
        #expect(try await survivor.ask(#"{"id":7,"op":"count","texts":["hello world"]}"#)["counts"] as? [Int] == [2])
        // Every killed client's connection is closed and its work finished or dropped; nothing is left behind.
        // (Counts already running finish first: up to six 60 MB texts, minutes under ThreadSanitizer.)
        try await waitUntil(seconds: 600) { daemon.server.connectionCount == 1 && daemon.server.requestsInFlight == 0 }
        #expect(daemon.server.connectionCount == 1)
        #expect(daemon.server.requestsInFlight == 0)
        await daemon.stop()
    }

    @Test func twoThousandConnectionsAtOnceAreEachAnswered() async throws {
        raiseOpenFileLimit()
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        try #require(limit.rlim_cur >= 4_200, "2,000 connections need 4,000 descriptors (both ends in this process); the hard limit is \(limit.rlim_max)")
        let daemon = try await Daemon.start()
        var connections: [RawConnection] = []
        for _ in 0..<2_000 { connections.append(try await daemon.raw()) }
        try await waitUntil { daemon.server.connectionCount == 2_000 }
        #expect(daemon.server.connectionCount == 2_000)
        // Every connection sends before any answer is read: 2,000 requests in progress at once.
        for (index, connection) in connections.enumerated() {
            try await connection.send(#"{"id":\#(index),"op":"count","texts":["\#(Array(repeating: "word", count: index).joined(separator: " "))"]}"# + "\n")
        }
        for (index, connection) in connections.enumerated() {
            let answer = try await connection.readObject()
            #expect(answer["id"] as? Int == index && answer["total"] as? Int == index, "connection \(index): \(answer)")
        }
        let client = daemon.client()
        #expect(try await client.count(["hello world"]).total == 2)
        #expect(try await client.stats().connectionsOpen == 2_001)
        connections.removeAll()
        try await waitUntil { daemon.server.connectionCount == 1 }
        #expect(daemon.server.connectionCount == 1)
        await client.close()
        await daemon.stop()
    }

    @Test func aTwoHundredMegabyteRequestIsRefusedOrCountedExactly() async throws {
        let text = FaultTests.mixedText(bytes: 200_000_000, seed: 11)
        let line = FaultTests.countRequest(id: 1, text: text)
        #expect(line.count > 200_000_000)

        // Above the default limit (64 MiB): refused as it arrives, and the connection goes on.
        let daemon = try await Daemon.start()
        let connection = try await daemon.raw(receiveTimeoutSeconds: 600)
        try await connection.send(line)
        let refused = try await connection.readObject()
        #expect(refused.errorCode == "request_too_large")
        #expect(refused.errorMessage == "the request has \(line.count - 1) bytes; this daemon takes at most 67108864 bytes per line (--max-request-bytes)")
        #expect(try await connection.ask(#"{"id":2,"op":"count","texts":["hello world"]}"#)["counts"] as? [Int] == [2])
        await daemon.stop()

        // Within a raised limit: counted, on all the daemon's threads, exactly as one thread counts it here.
        let roomy = try await Daemon.start { $0.maxRequestBytes = 256 << 20 }
        let asker = try await roomy.raw(receiveTimeoutSeconds: 600)
        try await asker.send(line)
        let answer = try await asker.readObject()
        let expected = try Tokenizer.named("o200k_base").count(text)
        #expect(answer["counts"] as? [Int] == [expected] && answer["bytes"] as? [Int] == [text.count])
        await roomy.stop()
    }

    @Test func requestLinesThatAreNotUTF8GetAnErrorAndTheConnectionGoesOn() async throws {
        let daemon = try await Daemon.start()
        let connection = try await daemon.raw()
        let prefix = Array(#"{"id":1,"op":"count","texts":["ab"#.utf8)
        let suffix = Array(#"cd"]}"#.utf8)
        let cases: [([UInt8], String)] = [
            ([0xFF, 0xFE, 0xFD], "unexpected byte 0xff at byte 0"),
            (prefix + [0xFF] + suffix, "a string is not UTF-8 at byte 33"),
            (prefix + [0xE6, 0x9D] + suffix, "a string is not UTF-8 at byte 33"),  // a character cut short
            (prefix + [0xC0, 0xAF] + suffix, "a string is not UTF-8 at byte 33"),  // overlong '/'
            (prefix + [0xED, 0xA0, 0x80] + suffix, "a string is not UTF-8 at byte 33"),  // an encoded surrogate
            (prefix + [0xF4, 0x90, 0x80, 0x80] + suffix, "a string is not UTF-8 at byte 33"),  // beyond U+10FFFF
            (Array(#"{"id":1,"op":"health"}"#.utf8) + [0x80], "unexpected byte 0x80 after the value at byte 22"),
        ]
        for (line, message) in cases {
            try await connection.send(line + [0x0A])
            let answer = try await connection.readObject()
            #expect(answer.errorCode == "malformed_json", "\(line)")
            #expect(answer.errorMessage == "the line is not valid JSON: \(message)", "\(line)")
        }
        let fine = try await connection.ask(#"{"id":2,"op":"count","texts":["ab\u00e9cd"]}"#)
        let expected = try Tokenizer.named("o200k_base").count("abécd")
        #expect(fine["id"] as? Int == 2 && fine["counts"] as? [Int] == [expected])
        await daemon.stop()
    }

    @Test func sigtermUnderLoadAnswersEveryRequestItRead() async throws {
        let folder = try temporaryFolder()
        let path = folder + "/tokc.sock"
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: binaryBesideTests("tokc"))
        daemon.arguments = ["serve", "--socket", path, "--log-level", "info", "--preload", "o200k_base"]
        let log = Pipe()
        daemon.standardError = log
        try daemon.run()
        try await waitUntil { LifecycleTests.exists(path) }
        let tokenizer = try Tokenizer.named("o200k_base")

        // Eight clients, each writing numbered requests as fast as the daemon takes them and reading answers.
        let clients = try (0..<8).map { _ in try RawConnection(path: path) }
        let writers = clients.enumerated().map { client, connection in
            Task {
                // Blocks whenever the daemon stops reading; ends when the daemon's end of the socket closes.
                await onOwnThread { () -> Int in
                    var sent = 0
                    while (try? connection.sendNow(Array((#"{"id":\#(sent),"op":"count","texts":["\#(FaultTests.loadText(client, sent))"]}"# + "\n").utf8))) != nil {
                        sent += 1
                    }
                    return sent
                }
            }
        }
        let readers = clients.map { connection in
            Task {
                await onOwnThread { () -> [(id: Int?, total: Int?)] in
                    var answers: [(id: Int?, total: Int?)] = []
                    while let line = try? connection.readLineNow(),
                          let answer = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] {
                        answers.append((answer["id"] as? Int, answer["total"] as? Int))
                    }
                    return answers
                }
            }
        }
        try await Task.sleep(for: .milliseconds(700))
        kill(daemon.processIdentifier, SIGTERM)
        daemon.waitUntilExit()
        #expect(daemon.terminationStatus == 0)
        var received = 0
        for (client, reader) in readers.enumerated() {
            let answers = await reader.value
            received += answers.count
            #expect(!answers.isEmpty, "client \(client) got no answer before the SIGTERM")
            // Answers come in request order, each the right count: a gap would be a request lost.
            for (index, answer) in answers.enumerated() {
                #expect(answer.id == index, "client \(client): \(answer)")
                #expect(answer.total == tokenizer.count(FaultTests.loadText(client, index)), "client \(client): \(answer)")
            }
            #expect(answers.count <= (await writers[client].value))
        }
        let logged = String(decoding: log.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        // The daemon's own account: every request it read was answered on its connection, none dropped.
        #expect(logged.firstMatch(of: /answered=(\d+)/).map { Int($0.1) } == received, "\(received) answers received; \(logged.suffix(600))")
        #expect(logged.contains("undelivered=0"), "\(logged.suffix(600))")
        #expect(!LifecycleTests.exists(path))
        try? FileManager.default.removeItem(atPath: folder)
    }

    @Test(.enabled(if: FaultTests.canMountTmpfs, "needs `unshare` with a private mount namespace (root, or user namespaces)"))
    func aFullOrReadOnlySocketFolderIsAClearErrorAtStart() throws {
        let folder = try temporaryFolder()
        let mountPoint = folder + "/m"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: false)
        // A tmpfs with room for its root folder only, and a read-only one.
        for (options, reason) in [
            ("nr_inodes=1", "No space left on device; the file system holding \(mountPoint) is full"),
            ("ro", "Read-only file system; this user cannot write to the folder \(mountPoint)"),
        ] {
            let (status, errors) = try FaultTests.serveInPrivateMount(options: options, socket: mountPoint + "/tokc.sock")
            #expect(status == 2)
            #expect(errors == "tokc: error: \(mountPoint)/tokc.sock: cannot create the socket: \(reason)\n")
        }
        try? FileManager.default.removeItem(atPath: folder)
    }

    @Test func aMissingOrUnwritableSocketFolderIsAClearErrorAtStart() async throws {
        let folder = try temporaryFolder()
        let missing = folder + "/absent/tokc.sock"
        let server = try TokcServer(configuration: .init(socketPath: missing))
        await #expect(throws: ServerError.cannotCreateSocket(path: missing, reason: "No such file or directory; the folder \(folder)/absent does not exist")) {
            try await server.start()
        }
        await server.shutdown()
        #expect(ServerError.cannotCreateSocket(path: missing, reason: "x").description == "\(missing): cannot create the socket: x")
        // A folder this user may read but not write, and one it may not even enter.
        chmod(folder, 0o755)
        for (mode, hint) in [(mode_t(0o555), "cannot write to the folder"), (0o000, "cannot enter the folder")] {
            let locked = folder + "/locked-\(String(mode, radix: 8))"
            try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: false)
            chmod(locked, mode)
            let message = try await Self.startFailure(socket: locked + "/tokc.sock", besides: folder)
            #expect(message.hasPrefix("\(locked)/tokc.sock: cannot create the socket: Permission denied; this user \(hint) \(locked)"), "\(message)")
            chmod(locked, 0o700)
        }
        try? FileManager.default.removeItem(atPath: folder)
    }

    // MARK: - Helpers

    /// The one line `tokc serve --socket socket` stops with. Root writes anywhere, so for root it is a
    /// `tokc serve` that has dropped to the user nobody (setpriv, util-linux), its binary copied into `folder`
    /// where nobody can reach it, and the manifest and price table it reads at start beside it (`TOKC_HOME`):
    /// the checkout may sit in a folder nobody cannot enter (a clone under `mktemp -d` does). Any other user
    /// runs the server in this process.
    static func startFailure(socket: String, besides folder: String) async throws -> String {
        if geteuid() != 0 {
            let server = try TokcServer(configuration: .init(socketPath: socket))
            let message: String
            do {
                try await server.start()
                message = "started"
            } catch {
                message = "\(error)"
            }
            await server.shutdown()
            return message
        }
        let tokc = folder + "/tokc", home = folder + "/home"
        if !FileManager.default.fileExists(atPath: tokc) {
            try FileManager.default.copyItem(atPath: binaryBesideTests("tokc"), toPath: tokc)
            try FileManager.default.createDirectory(atPath: home + "/Vocabularies", withIntermediateDirectories: true)
            for file in ["manifest.json", "models.json"] {
                try FileManager.default.copyItem(atPath: References.repositoryRoot + "/Vocabularies/" + file, toPath: home + "/Vocabularies/" + file)
            }
        }
        let (status, errors) = try await offload {
            try FaultTests.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups",
                                                    "/usr/bin/env", "TOKC_HOME=" + home, tokc, "serve", "--socket", socket])
        }
        #expect(status == 2)
        return errors.hasPrefix("tokc: error: ") && errors.hasSuffix("\n") ? String(errors.dropFirst(13).dropLast()) : errors
    }

    /// Text of `bytes` bytes drawn from words of several scripts, with line breaks, reproducible from `seed`.
    static func mixedText(bytes: Int, seed: UInt64) -> [UInt8] {
        let words = ["the", "quick", "brown", "fox", "東京タワー", "は", "日本の", "電波塔", "です。", "Straße", "naïve",
                     "👩‍👩‍👧", "  ", "1234", "don't", "ｶﾀｶﾅ", "e\u{301}", "\t", "tokenizer", "\u{FEFF}"].map { Array($0.utf8) }
        var text: [UInt8] = []
        text.reserveCapacity(bytes + 32)
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        while text.count < bytes {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let pick = Int(truncatingIfNeeded: state >> 33)
            text += words[pick % words.count]
            text.append(pick % 13 == 0 ? 0x0A : 0x20)
        }
        text.removeLast(text.count - bytes)
        // Never end inside a character: back up to a character boundary and pad with spaces.
        var end = bytes
        while end > 0 && text[end - 1] & 0xC0 == 0x80 { end -= 1 }
        if end > 0 && text[end - 1] >= 0xC0 { end -= 1 }
        for index in end..<bytes { text[index] = 0x20 }
        return text
    }

    /// A count request line for `text`, written by tokc's own JSON writer (which escapes what JSON requires).
    static func countRequest(id: Int, text: [UInt8]) -> [UInt8] {
        JSONValue.object([("id", .integer(id)), ("op", .text("count")), ("texts", .array([.string(text)]))]).serialized()
    }

    static func loadText(_ client: Int, _ index: Int) -> String {
        String(repeating: "client\(client) request\(index) 東京 ", count: 1 + (index * 7 + client) % 40)
    }

    /// `unshare` can give this process's children a private mount namespace (as root, or via a user namespace).
    static let canMountTmpfs: Bool = {
        (try? runInPrivateMount(script: "mount -t tmpfs -o size=64k tokc /mnt").0) == 0
    }()

    static func serveInPrivateMount(options: String, socket: String) throws -> (Int32, String) {
        let folder = (socket as NSString).deletingLastPathComponent
        let tokc = binaryBesideTests("tokc")
        return try runInPrivateMount(script: "mount -t tmpfs -o size=64k,\(options) tokc '\(folder)' && exec '\(tokc)' serve --socket '\(socket)'")
    }

    /// Runs `script` under `sh` in a private mount namespace: exit status and standard error.
    static func runInPrivateMount(script: String) throws -> (Int32, String) {
        try run("/usr/bin/unshare", (geteuid() == 0 ? ["-m"] : ["-Urm"]) + ["sh", "-c", script])
    }

    /// Runs `executable` with `arguments`: exit status and standard error.
    static func run(_ executable: String, _ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }
}
