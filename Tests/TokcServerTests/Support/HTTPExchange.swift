import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One HTTP/1.1 exchange over a plain TCP socket, with exactly the bytes given: how to send what a browser
/// never would (a forged Host, a wrong Origin, a lying Content-Length).
struct HTTPAnswer {
    var status: Int
    /// Header names lowercased.
    var headers: [String: String]
    var body: [UInt8]
    var text: String { String(decoding: body, as: UTF8.self) }
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
}

enum HTTPExchange {
    struct Failure: Error, CustomStringConvertible { let description: String }

    /// A request with the usual headers (`Host: 127.0.0.1:PORT`, JSON content type for a body) unless given.
    static func request(_ method: String, _ path: String, port: Int, body: String? = nil, headers: [(String, String)] = []) -> [UInt8] {
        var lines = ["\(method) \(path) HTTP/1.1"]
        let names = Set(headers.map { $0.0.lowercased() })
        if !names.contains("host") { lines.append("Host: 127.0.0.1:\(port)") }
        if let body {
            if !names.contains("content-type") { lines.append("Content-Type: application/json") }
            if !names.contains("content-length") { lines.append("Content-Length: \(body.utf8.count)") }
        }
        lines += headers.map { "\($0.0): \($0.1)" }
        return Array((lines.joined(separator: "\r\n") + "\r\n\r\n" + (body ?? "")).utf8)
    }

    /// Sends `bytes` on a new connection and reads one answer (by its Content-Length).
    static func send(_ bytes: [UInt8], port: Int) async throws -> HTTPAnswer {
        try await offload {
            let descriptor = try connect(port: port)
            defer { close(descriptor) }
            var offset = 0
            while offset < bytes.count {
                let written = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                // The daemon may answer and close before a refused body is all sent.
                if written <= 0 { break }
                offset += written
            }
            return try readAnswer(descriptor)
        }
    }

    static func connect(port: Int) throws -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw Failure(description: "connect 127.0.0.1:\(port): \(reason)")
        }
        return descriptor
    }

    static func readAnswer(_ descriptor: Int32) throws -> HTTPAnswer {
        var buffered: [UInt8] = []
        var headEnd: Int?
        var length = 0
        var answer = HTTPAnswer(status: 0, headers: [:], body: [])
        while true {
            if headEnd == nil, let end = find([13, 10, 13, 10], in: buffered) {
                headEnd = end + 4
                let head = String(decoding: buffered[..<end], as: UTF8.self).components(separatedBy: "\r\n")
                answer.status = Int(head[0].split(separator: " ")[1]) ?? 0
                for line in head.dropFirst() {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    answer.headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                length = Int(answer.headers["content-length"] ?? "0") ?? 0
            }
            if let headEnd, buffered.count >= headEnd + length {
                answer.body = Array(buffered[headEnd..<(headEnd + length)])
                return answer
            }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { throw Failure(description: "the connection ended before a whole answer (\(buffered.count) bytes read)") }
            buffered += chunk[..<count]
        }
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start..<(start + needle.count)].elementsEqual(needle) {
            return start
        }
        return nil
    }
}
