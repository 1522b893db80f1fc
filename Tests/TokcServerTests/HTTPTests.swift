import Foundation
import Testing
import Tokc
import TokcProtocol
import TokcServer

/// The HTTP face: the socket protocol's answers over `POST /v1/<op>`, the playground at `/`, and the checks that
/// keep a web page the user visits from using the daemon (Host, Origin, content type, size, no paths).
@Suite struct HTTPTests {
    static func withDaemon(_ configure: @escaping (inout TokcServer.Configuration) -> Void = { _ in }, _ body: (Daemon, Int) async throws -> Void) async throws {
        let daemon = try await Daemon.start {
            $0.http = .init(host: "127.0.0.1", port: 0)
            configure(&$0)
        }
        do {
            let port = try #require(daemon.server.httpPort)
            try await body(daemon, port)
        } catch {
            await daemon.stop()
            throw error
        }
        await daemon.stop()
    }

    static func post(_ op: String, _ body: String, port: Int, headers: [(String, String)] = []) async throws -> HTTPAnswer {
        try await HTTPExchange.send(HTTPExchange.request("POST", "/v1/" + op, port: port, body: body, headers: headers), port: port)
    }

    @Test func answersAreTheSocketProtocolsByteForByte() async throws {
        try await Self.withDaemon { daemon, port in
            let raw = try await daemon.raw()
            let requests: [(String, String)] = [
                ("count", #"{"id":1,"op":"count","texts":["hello world","東京タワー"]}"#),
                ("encode", #"{"id":"e","op":"encode","vocab":"llama3","texts":["hello world"]}"#),
                ("cost", #"{"id":3,"op":"cost","model":"gpt-4o","texts":["hello world"],"output_tokens":1000}"#),
                ("decode", #"{"id":4,"op":"decode","vocab":"o200k_base","ids":[[24912,2375]]}"#),
                ("count", #"{"id":5,"op":"count","vocab":"nope","texts":["x"]}"#),
                ("count", #"{"id":6,"op":"count","texts":"x"}"#),
            ]
            for (op, line) in requests {
                try await raw.send(line + "\n")
                let socketAnswer = try #require(try await raw.readLine())
                let answer = try await Self.post(op, line, port: port)
                #expect(answer.text == socketAnswer + "\n", "\(op): \(answer.text)")
                #expect(answer.headers["content-type"] == "application/json; charset=utf-8")
                let expectedStatus = socketAnswer.contains(#""error""#) ? 400 : 200
                #expect(answer.status == expectedStatus, "\(line) -> \(answer.status)")
            }
            // The URL names the op: the body may leave it out, and may not name another.
            let bare = try await Self.post("count", #"{"texts":["hello world"]}"#, port: port)
            #expect(bare.text == #"{"bytes":[11],"counts":[2],"id":null,"total":2,"vocab":"o200k_base"}"# + "\n")
            let health = try await HTTPExchange.send(HTTPExchange.request("POST", "/v1/health", port: port, headers: [("Content-Type", "application/json"), ("Content-Length", "0")]), port: port)
            #expect(health.status == 200 && health.json["status"] as? String == "ok", "\(health.text)")
            let other = try await Self.post("count", #"{"op":"encode","texts":["x"]}"#, port: port)
            #expect(other.status == 400 && other.json.errorMessage == "the body's op 'encode' is not the URL's 'count'", "\(other.text)")
            let unknown = try await Self.post("frobnicate", "{}", port: port)
            #expect(unknown.status == 404 && unknown.json.errorCode == "unknown_op", "\(unknown.text)")
        }
    }

    @Test func aForeignHostIsRefused() async throws {
        try await Self.withDaemon { _, port in
            let evil = try await Self.post("count", #"{"texts":["x"]}"#, port: port, headers: [("Host", "evil.example")])
            #expect(evil.status == 403, "\(evil.text)")
            #expect(evil.json.errorMessage == "Host 'evil.example' is not this daemon's address; use http://127.0.0.1:\(port)/")
            #expect(evil.headers["connection"] == "close")
            // A rebinding page keeps the port: still not this daemon's name.
            let rebound = try await HTTPExchange.send(HTTPExchange.request("GET", "/", port: port, headers: [("Host", "evil.example:\(port)")]), port: port)
            #expect(rebound.status == 403 && !rebound.text.contains("<html"))
            let otherPort = try await Self.post("count", #"{"texts":["x"]}"#, port: port, headers: [("Host", "127.0.0.1:1")])
            #expect(otherPort.status == 403)
            for host in ["localhost:\(port)", "LOCALHOST:\(port)", "127.0.0.1:\(port)"] {
                let fine = try await Self.post("count", #"{"texts":["x"]}"#, port: port, headers: [("Host", host)])
                #expect(fine.status == 200, "\(host): \(fine.text)")
            }
        }
    }

    @Test func crossOriginRequestsAreRefused() async throws {
        try await Self.withDaemon { _, port in
            let crossOrigin = try await Self.post("count", #"{"texts":["x"]}"#, port: port, headers: [("Origin", "http://evil.example")])
            #expect(crossOrigin.status == 403, "\(crossOrigin.text)")
            #expect(crossOrigin.json.errorMessage == "cross-origin request from 'http://evil.example' refused: only pages served by this daemon may use it")
            let otherPort = try await Self.post("count", #"{"texts":["x"]}"#, port: port, headers: [("Origin", "http://127.0.0.1:1")])
            #expect(otherPort.status == 403)
            let opaque = try await Self.post("count", #"{"texts":["x"]}"#, port: port, headers: [("Origin", "null")])
            #expect(opaque.status == 403)
            let crossSite = try await Self.post("count", #"{"texts":["x"]}"#, port: port, headers: [("Sec-Fetch-Site", "cross-site")])
            #expect(crossSite.status == 403)
            // What an HTML form can send: not JSON, so never read.
            let form = try await Self.post("count", #"{"texts":["x"]}"#, port: port, headers: [("Content-Type", "text/plain")])
            #expect(form.status == 415 && form.json.errorMessage == "a request body must be sent as Content-Type: application/json", "\(form.text)")
            let sameOrigin = try await Self.post("count", #"{"texts":["x"]}"#, port: port, headers: [("Origin", "http://127.0.0.1:\(port)"), ("Sec-Fetch-Site", "same-origin")])
            #expect(sameOrigin.status == 200, "\(sameOrigin.text)")
        }
    }

    @Test func anOversizedBodyIsRefused() async throws {
        try await Self.withDaemon({ $0.maxRequestBytes = 4096 }) { _, port in
            let text = String(repeating: "a", count: 5000)
            let declared = try await Self.post("count", #"{"texts":["\#(text)"]}"#, port: port)
            #expect(declared.status == 413 && declared.json.errorCode == "request_too_large", "\(declared.text)")
            #expect(declared.json.errorMessage == "the request body has at least 5014 bytes; this daemon takes at most 4096 bytes per request (--max-request-bytes)")
            // Chunked, so the length is known only as it arrives.
            let body = Array(#"{"texts":["\#(text)"]}"#.utf8)
            var request = Array("POST /v1/count HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
            for start in stride(from: 0, to: body.count, by: 1000) {
                let chunk = body[start..<min(body.count, start + 1000)]
                request += Array((String(chunk.count, radix: 16) + "\r\n").utf8) + chunk + Array("\r\n".utf8)
            }
            request += Array("0\r\n\r\n".utf8)
            let chunked = try await HTTPExchange.send(request, port: port)
            #expect(chunked.status == 413 && chunked.json.errorCode == "request_too_large", "\(chunked.text)")
            let small = try await Self.post("count", #"{"texts":["\#(String(repeating: "a", count: 4000))"]}"#, port: port)
            #expect(small.status == 200, "\(small.text)")
        }
    }

    @Test func noFilePathsOverHTTP() async throws {
        try await Self.withDaemon { _, port in
            let answer = try await Self.post("count", #"{"paths":["/etc/passwd"]}"#, port: port)
            #expect(answer.status == 400)
            #expect(answer.json.errorMessage == "'paths' is not accepted over HTTP: the daemon reads no files for a web client; send the text in 'texts'")
            let byPath = try await Self.post("count", #"{"vocab":"/etc/passwd","texts":["x"]}"#, port: port)
            #expect(byPath.status == 400 && byPath.json.errorCode == "unknown_vocab", "\(byPath.text)")
        }
    }

    @Test func thePageIsServedWithAStrictPolicy() async throws {
        try await Self.withDaemon { _, port in
            let page = try await HTTPExchange.send(HTTPExchange.request("GET", "/", port: port), port: port)
            #expect(page.status == 200)
            #expect(page.headers["content-type"] == "text/html; charset=utf-8")
            let policy = try #require(page.headers["content-security-policy"])
            #expect(policy.hasPrefix("default-src 'none'; script-src 'sha256-"))
            #expect(policy.contains("connect-src 'self'") && !policy.contains("unsafe"))
            #expect(page.text.contains("<title>tokc playground</title>"))
            // No address outside the page: nothing to fetch from anywhere.
            #expect(!page.text.contains("http://") && !page.text.contains("https://") && !page.text.contains("//cdn"))
            let wrongMethod = try await HTTPExchange.send(HTTPExchange.request("GET", "/v1/count", port: port), port: port)
            #expect(wrongMethod.status == 405 && wrongMethod.headers["allow"] == "POST")
            let missing = try await HTTPExchange.send(HTTPExchange.request("GET", "/etc/passwd", port: port), port: port)
            #expect(missing.status == 404)
        }
    }

    @Test func onlyLoopbackUnlessAllowed() throws {
        var configuration = TokcServer.Configuration(http: .init(host: "0.0.0.0", port: 0))
        #expect(throws: TokcError.invalidRequest("--http 0.0.0.0: not a loopback address; the HTTP face serves this machine only unless --allow-remote is given")) {
            _ = try TokcServer(configuration: configuration)
        }
        configuration.http?.allowRemote = true
        _ = try TokcServer(configuration: configuration)
        #expect(try TokcServer.HTTPEndpoint(parsing: "[::1]:8080").host == "::1")
        #expect(try TokcServer.HTTPEndpoint(parsing: "localhost:8080").isLoopback)
        #expect(throws: TokcError.self) { try TokcServer.HTTPEndpoint(parsing: "8080") }
    }
}
