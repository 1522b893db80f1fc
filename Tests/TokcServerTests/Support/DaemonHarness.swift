import Foundation
import Logging
import Testing
import Tokc
import TokcClient
import TokcProtocol
import TokcServer

#if canImport(Glibc)
import Glibc
#endif

/// A real daemon on a socket in a fresh temporary folder, for one test.
struct Daemon {
    let server: TokcServer
    let folder: String
    var socketPath: String { server.configuration.socketPath ?? "" }

    static func start(_ configure: (inout TokcServer.Configuration) -> Void = { _ in }) async throws -> Daemon {
        let folder = try temporaryFolder()
        var configuration = TokcServer.Configuration(socketPath: folder + "/tokc.sock")
        configuration.shutdownGracePeriod = .seconds(10)
        configure(&configuration)
        var logger = Logger(label: "tokc.test")
        logger.logLevel = .critical  // the daemon's logs would bury the test report; LifecycleTests reads them from the command
        let server = try TokcServer(configuration: configuration, logger: logger)
        try await server.start()
        return Daemon(server: server, folder: folder)
    }

    func stop() async {
        await server.shutdown()
        try? FileManager.default.removeItem(atPath: folder)
    }

    func client() -> TokcClient { TokcClient(socketPath: socketPath) }

    /// A raw connection whose reads give up after `receiveTimeoutSeconds` (sanitizer builds are many times slower).
    func raw(receiveTimeoutSeconds: Int = 20) async throws -> RawConnection {
        try await offload { try RawConnection(path: socketPath, receiveTimeoutSeconds: receiveTimeoutSeconds) }
    }
}

/// Short folder names: a Unix socket path holds at most 107 bytes.
func temporaryFolder() throws -> String {
    let folder = "/tmp/tokc-t-" + String(UUID().uuidString.prefix(8))
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    return folder
}

/// A blocking Unix-socket connection that writes exactly the bytes it is given: what a client in any language
/// does, and the way to send what the Swift client never would (broken JSON, half a line).
final class RawConnection: @unchecked Sendable {
    let descriptor: Int32
    private var buffered: [UInt8] = []

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    init(path: String, receiveTimeoutSeconds: Int = 20) throws {
        descriptor = try Self.connected(to: path)
        var timeout = timeval(tv_sec: receiveTimeoutSeconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// A socket connected to `path`, or an error with the socket already closed. The descriptor is stored only
    /// once connected: a class whose initialiser throws after storing every property still runs `deinit`, and
    /// closing the socket here and again there closed whatever the number belonged to by then (a daemon's
    /// listening socket, in a parallel test: NIO's getsockname then failed with EBADF and trapped).
    private static func connected(to path: String) throws -> Int32 {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (offset, byte) in path.utf8.enumerated() { raw[offset] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw Failure(description: "connect \(path): \(reason)")
        }
        return descriptor
    }

    deinit { close(descriptor) }

    func send(_ text: String) async throws { try await send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) async throws { try await offload { try self.sendNow(bytes) } }

    func sendNow(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw Failure(description: "send: \(String(cString: strerror(errno)))") }
            offset += written
        }
    }

    /// Half-closes: the daemon sees the end of this client's requests.
    func finishSending() { shutdown(descriptor, Int32(SHUT_WR)) }

    /// The next response line, without its newline; nil at end of stream.
    func readLine() async throws -> String? { try await offload { try self.readLineNow() } }

    func readLineNow() throws -> String? {
        while true {
            if let newline = buffered.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffered[..<newline], as: UTF8.self)
                buffered.removeSubrange(...newline)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count == 0 { return nil }
            guard count > 0 else { throw Failure(description: "recv: \(String(cString: strerror(errno)))") }
            buffered += chunk[..<count]
        }
    }

    /// The next response as a JSON object.
    func readObject() async throws -> [String: Any] {
        guard let line = try await readLine() else { throw Failure(description: "the daemon closed the connection") }
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw Failure(description: "not a JSON object: \(line)")
        }
        return object
    }

    /// Sends one request line and reads its response.
    func ask(_ line: String) async throws -> [String: Any] {
        try await send(line + "\n")
        return try await readObject()
    }
}

/// Runs `body` on a thread of its own: for a blocking loop that lasts the whole test (a client streaming
/// requests), which on a Dispatch worker would starve everything else queued there, Swift's executor included.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: body()) }
        thread.start()
    }
}

/// Runs blocking socket calls on a Dispatch thread, never on the cooperative pool that every test and the
/// client share: a test blocked in `recv` there would starve the others.
func offload<T: Sendable>(_ body: @escaping () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        nonisolated(unsafe) let body = body
        DispatchQueue.global().async {
            continuation.resume(with: Result { try body() })
        }
    }
}

extension Dictionary where Key == String, Value == Any {
    var errorCode: String? { (self["error"] as? [String: Any])?["code"] as? String }
    var errorMessage: String? { (self["error"] as? [String: Any])?["message"] as? String }
}
