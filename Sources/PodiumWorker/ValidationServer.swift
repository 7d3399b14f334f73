#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import PodiumCore
import PodiumSystem

/// What an agent gets back from /validate: an HTTP status and a JSON object (MLE-bench's shapes: `{"result": …}` on 200,
/// `{"error": …, "details": …}` otherwise).
public struct ValidationAnswer: Sendable, Equatable {
    public var status: Int
    public var body: [String: String]
    public init(status: Int, body: [String: String]) { self.status = status; self.body = body }
    public static func result(_ message: String) -> ValidationAnswer { .init(status: 200, body: ["result": message]) }
    public static func error(_ status: Int, _ error: String, _ details: String) -> ValidationAnswer {
        .init(status: status, body: ["error": error, "details": details])
    }
}

/// What the node offers an attempt besides its container: the validation relay (to the coordinator, which alone holds
/// the answers). nil: nobody to ask (an ad-hoc `podium-worker run`), so /validate answers 503.
public struct AttemptServices: Sendable {
    public var validate: (@Sendable (Data) -> ValidationAnswer)?
    public init(validate: (@Sendable (Data) -> ValidationAnswer)? = nil) { self.validate = validate }
}

/// MLE-bench's grading server as an agent sees it — `http://localhost:5000/health` and `POST /validate` (multipart field
/// `file`) — served by the worker on sockets it opens inside the container's network namespace (`setns` on a thread of
/// its own), so it works with `network: none` and nothing of podium runs in the container. The answers never come to the
/// node: each submission is relayed to the coordinator, which grades it and answers with MLE-bench's message.
public final class ValidationServer: @unchecked Sendable {
    /// Largest submission relayed (one protocol frame carries it, base64-encoded); larger ones get a clear 413.
    public static let maxSubmissionBytes = 40 << 20
    static let maxHeaderBytes = 64 << 10
    static let maxConcurrent = 8

    private let listeners: [Int32]
    private let relay: (@Sendable (Data) -> ValidationAnswer)?
    private let stopped = Locked(false)
    private let active = Locked(0)
    /// Requests answered, by path: what the attempt's record shows.
    public let served = Locked<[String: Int]>([:])

    private init(listeners: [Int32], relay: (@Sendable (Data) -> ValidationAnswer)?) {
        self.listeners = listeners; self.relay = relay
    }

    /// Listens on 127.0.0.1:`port` (and [::1]:`port` where the namespace has IPv6) in the network namespace of process `pid`.
    public static func open(networkNamespaceOf pid: Int32, port: UInt16 = 5000,
                            relay: (@Sendable (Data) -> ValidationAnswer)?) throws -> ValidationServer {
        let result = Locked<Result<[Int32], SystemError>?>(nil)
        // setns changes the calling thread's namespace only: a throwaway thread enters it, opens the sockets (which stay
        // in that namespace for good) and ends.
        let done = BlockingQueue<Bool>(capacity: 1)
        BlockingThread.start {
            let r: Result<[Int32], SystemError>
            do throws(SystemError) { r = .success(try Self.listen(inNamespaceOf: pid, port: port)) } catch { r = .failure(error) }
            result.withLock { $0 = r }
            done.push(true)
        }
        _ = done.pop(timeout: 30)
        guard let r = result.withLock({ $0 }) else { throw SystemError("setns", errno: ETIMEDOUT) }
        let server = ValidationServer(listeners: try r.get(), relay: relay)
        BlockingThread.start { server.acceptLoop() }
        return server
    }

    private typealias SetNS = @convention(c) (Int32, Int32) -> Int32
    /// glibc's `setns(2)` (Swift's Glibc module does not import it without _GNU_SOURCE).
    private static let setnsCall: SetNS? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setns").map { unsafeBitCast($0, to: SetNS.self) }

    private static func listen(inNamespaceOf pid: Int32, port: UInt16) throws(SystemError) -> [Int32] {
        guard let setnsCall else { throw SystemError("setns (not in this C library)", errno: ENOSYS) }
        let nsfd = Glibc.open("/proc/\(pid)/ns/net", O_RDONLY | O_CLOEXEC)
        guard nsfd >= 0 else { throw SystemError("open /proc/\(pid)/ns/net", errno: errno) }
        defer { close(nsfd) }
        guard setnsCall(nsfd, 0x4000_0000 /* CLONE_NEWNET */) == 0 else {
            throw SystemError("setns into the container's network namespace (the worker needs CAP_SYS_ADMIN: run it as root)", errno: errno)
        }
        var fds = [Int32]()
        let v4 = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard v4 >= 0 else { throw SystemError("socket", errno: errno) }
        var one: Int32 = 1
        setsockopt(v4, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        a.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let bound = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(v4, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, Glibc.listen(v4, 16) == 0 else {
            let e = errno
            close(v4)
            throw SystemError("listening on 127.0.0.1:\(port) in the container (is something in the image already serving it?)", errno: e)
        }
        fds.append(v4)
        // IPv6 loopback too, where the namespace has it ("localhost" may resolve to ::1 first).
        let v6 = socket(AF_INET6, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if v6 >= 0 {
            setsockopt(v6, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
            var a6 = sockaddr_in6()
            a6.sin6_family = sa_family_t(AF_INET6)
            a6.sin6_port = port.bigEndian
            a6.sin6_addr = in6addr_loopback
            let ok = withUnsafePointer(to: &a6) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(v6, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
            if ok == 0 && Glibc.listen(v6, 16) == 0 { fds.append(v6) } else { close(v6) }
        }
        return fds
    }

    /// Stops accepting; requests in progress finish on their own threads.
    public func stop() { stopped.withLock { $0 = true } }

    private func acceptLoop() {
        defer { for fd in listeners { Glibc.close(fd) } }
        var pfds = listeners.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        while !stopped.withLock({ $0 }) {
            let n = poll(&pfds, nfds_t(pfds.count), 250)
            guard n > 0 else { continue }
            for i in pfds.indices where pfds[i].revents != 0 {
                pfds[i].revents = 0
                let c = accept(pfds[i].fd, nil, nil)
                guard c >= 0 else { continue }
                _ = fcntl(c, F_SETFD, FD_CLOEXEC)
                var tv = timeval(tv_sec: 60, tv_usec: 0)
                setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                let admitted = active.withLock { n -> Bool in
                    guard n < Self.maxConcurrent else { return false }
                    n += 1
                    return true
                }
                guard admitted else {
                    Self.respond(c, .error(503, "Too many requests", "\(Self.maxConcurrent) validations are already in progress; try again shortly"))
                    Glibc.close(c)
                    continue
                }
                BlockingThread.start { [self] in
                    defer { Glibc.close(c); active.withLock { $0 -= 1 } }
                    let (path, answer) = serve(c)
                    served.withLock { $0[path, default: 0] += 1 }
                    Self.respond(c, answer)
                }
            }
        }
    }

    /// Reads one request and decides the answer.
    private func serve(_ fd: Int32) -> (String, ValidationAnswer) {
        var buf = [UInt8]()
        var headerEnd: Int?
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while headerEnd == nil {
            guard buf.count < Self.maxHeaderBytes else {
                return ("?", .error(431, "Request header too large", "the request's header exceeds \(Self.maxHeaderBytes) bytes"))
            }
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { return ("?", .error(400, "Bad request", "the connection closed before a full HTTP request")) }
            buf += chunk[0..<n]
            headerEnd = HTTPRequestHead.end(of: buf)
        }
        guard let head = HTTPRequestHead(Array(buf[0..<headerEnd!])) else {
            return ("?", .error(400, "Bad request", "not an HTTP/1.x request"))
        }
        let path = String(head.target.split(separator: "?", maxSplits: 1).first ?? "")
        switch (head.method, path) {
        case ("GET", "/health"):
            return (path, .init(status: 200, body: ["status": "running"]))
        case ("POST", "/validate"):
            break
        case (_, "/health"), (_, "/validate"):
            return (path, .error(405, "Method not allowed", "use GET /health and POST /validate"))
        default:
            return (path, .error(404, "Not found", "this server answers GET /health and POST /validate"))
        }
        if head.headers["transfer-encoding"] != nil {
            return (path, .error(411, "Length required", "send the submission with a Content-Length (curl -F file=@submission.csv does)"))
        }
        guard let length = head.headers["content-length"].flatMap({ Int($0) }), length >= 0 else {
            return (path, .error(411, "Length required", "POST /validate needs a Content-Length header"))
        }
        guard length <= Self.maxSubmissionBytes + 64 << 10 else {
            return (path, .error(413, "Submission too large",
                                 "the request is \(length) bytes; podium relays submissions up to \(Self.maxSubmissionBytes) bytes to its grader for validation (the final submission is graded whatever its size)"))
        }
        var body = Array(buf[(headerEnd! + 4)...])
        while body.count < length {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, min($0.count, length - body.count)) }
            guard n > 0 else { return (path, .error(400, "Bad request", "the body ended after \(body.count) of \(length) bytes")) }
            body += chunk[0..<n]
        }
        if body.count > length { body.removeLast(body.count - length) }
        guard let type = head.headers["content-type"], type.lowercased().hasPrefix("multipart/form-data"),
              let boundary = Multipart.boundary(type) else {
            return (path, .error(400, "Bad request", "post the submission as multipart/form-data with a field named 'file' (curl -X POST -F file=@submission.csv http://localhost:5000/validate)"))
        }
        guard let file = Multipart.field("file", in: body, boundary: boundary) else {
            return (path, .error(400, "Bad request", "no multipart field named 'file' (curl -X POST -F file=@submission.csv http://localhost:5000/validate)"))
        }
        guard file.count <= Self.maxSubmissionBytes else {
            return (path, .error(413, "Submission too large", "the submission is \(file.count) bytes; podium relays up to \(Self.maxSubmissionBytes) bytes for validation"))
        }
        guard let relay else {
            return (path, .error(503, "Validation unavailable", "no podium coordinator is attached to this run (an ad-hoc podium-worker run); the submission was not checked"))
        }
        return (path, relay(Data(file)))
    }

    static func respond(_ fd: Int32, _ answer: ValidationAnswer) {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let body = (try? enc.encode(answer.body)).map { [UInt8]($0) } ?? Array("{}".utf8)
        let reason = [200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 411: "Length Required",
                      413: "Payload Too Large", 431: "Request Header Fields Too Large", 500: "Internal Server Error",
                      503: "Service Unavailable", 504: "Gateway Timeout"][answer.status] ?? "Error"
        let head = "HTTP/1.1 \(answer.status) \(reason)\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        let all = Array(head.utf8) + body + [10]
        _ = all.withUnsafeBytes { writeAll(fd, $0) }
    }
}

/// The request line and headers of an HTTP/1.x request (header names lower-cased).
struct HTTPRequestHead {
    var method: String
    var target: String
    var headers: [String: String] = [:]

    /// Where "\r\n\r\n" starts, if the header is complete.
    static func end(of buf: [UInt8]) -> Int? {
        guard buf.count >= 4 else { return nil }
        for i in 0...(buf.count - 4) where buf[i] == 13 && buf[i + 1] == 10 && buf[i + 2] == 13 && buf[i + 3] == 10 { return i }
        return nil
    }

    init?(_ bytes: [UInt8]) {
        let lines = String(decoding: bytes, as: UTF8.self).components(separatedBy: "\r\n")
        let first = lines.first?.split(separator: " ") ?? []
        guard first.count == 3, first[2].hasPrefix("HTTP/1.") else { return nil }
        method = String(first[0]); target = String(first[1])
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
    }
}

/// The one part of a multipart/form-data body podium needs.
enum Multipart {
    static func boundary(_ contentType: String) -> String? {
        for param in contentType.split(separator: ";").dropFirst() {
            let kv = param.split(separator: "=", maxSplits: 1)
            guard kv.count == 2, kv[0].trimmingCharacters(in: .whitespaces).lowercased() == "boundary" else { continue }
            var v = kv[1].trimmingCharacters(in: .whitespaces)
            if v.count >= 2, v.hasPrefix("\""), v.hasSuffix("\"") { v = String(v.dropFirst().dropLast()) }
            return v.isEmpty ? nil : v
        }
        return nil
    }

    /// The content of the part whose Content-Disposition names `name`.
    static func field(_ name: String, in body: [UInt8], boundary: String) -> [UInt8]? {
        let delimiter = Array(("--" + boundary).utf8)
        var starts = [Int]()
        var i = 0
        while let at = find(delimiter, in: body, from: i) { starts.append(at); i = at + delimiter.count }
        for (k, at) in starts.enumerated() where k + 1 < starts.count {
            var partStart = at + delimiter.count
            if partStart + 1 < body.count, body[partStart] == 13, body[partStart + 1] == 10 { partStart += 2 }
            var partEnd = starts[k + 1]
            if partEnd >= 2, body[partEnd - 2] == 13, body[partEnd - 1] == 10 { partEnd -= 2 }
            guard partStart <= partEnd, let headEnd = find([13, 10, 13, 10], in: body, from: partStart), headEnd < partEnd else { continue }
            let head = String(decoding: body[partStart..<headEnd], as: UTF8.self).lowercased()
            guard head.contains("content-disposition"), head.contains("name=\"\(name)\"") else { continue }
            return Array(body[(headEnd + 4)..<partEnd])
        }
        return nil
    }

    static func find(_ needle: [UInt8], in hay: [UInt8], from: Int) -> Int? {
        guard !needle.isEmpty, hay.count >= needle.count, from <= hay.count - needle.count else { return nil }
        let first = needle[0]
        var i = from
        while i <= hay.count - needle.count {
            if hay[i] == first && hay[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}
