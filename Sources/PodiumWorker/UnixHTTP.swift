#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import PodiumSystem

/// An error talking to the container engine, with what podium was doing.
public struct EngineError: Error, CustomStringConvertible, Sendable {
    public var doing: String
    public var status: Int?
    public var message: String
    public var description: String {
        status.map { "\(doing): HTTP \($0): \(message)" } ?? "\(doing): \(message)"
    }
}

/// Minimal blocking HTTP/1.1 over a unix socket (the Docker Engine API's transport). One connection per request,
/// so a streaming request (logs) never blocks others. Use from dedicated threads only.
public struct UnixHTTPClient: Sendable {
    public let socketPath: String
    public init(socketPath: String) { self.socketPath = socketPath }

    public struct Response: Sendable {
        public var status: Int
        public var body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// Sends a request and reads the whole response.
    public func send(_ method: String, _ path: String, json: [UInt8]? = nil, doing: String) throws -> Response {
        var body = [UInt8]()
        let status = try stream(method, path, json: json, doing: doing) { chunk in body += chunk; return true }
        return Response(status: status, body: body)
    }

    /// Sends a request and hands the (de-chunked) body to `onData` as it arrives; `onData` returns false to stop.
    @discardableResult
    public func stream(_ method: String, _ path: String, json: [UInt8]? = nil, doing: String,
                       onData: ([UInt8]) -> Bool) throws -> Int {
        let fd = try connect(doing: doing)
        defer { close(fd) }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: docker\r\nUser-Agent: podium\r\nConnection: close\r\n"
        if let json { head += "Content-Type: application/json\r\nContent-Length: \(json.count)\r\n" }
        else if method == "POST" { head += "Content-Length: 0\r\n" }
        head += "\r\n"
        try writeAll(fd, Array(head.utf8) + (json ?? []), doing: doing)

        var reader = SocketReader(fd: fd)
        return try readHTTPResponse(&reader, doing: doing, onData: onData)
    }

    private func connect(doing: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw EngineError(doing: doing, message: "socket(): \(SystemError.text(errno))") }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            close(fd)
            throw EngineError(doing: doing, message: "socket path too long: \(socketPath)")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in pathBytes.enumerated() { raw[i] = b }
            raw[pathBytes.count] = 0
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            let err = SystemError.text(errno)
            close(fd)
            throw EngineError(doing: doing, message: "cannot reach the Docker Engine at \(socketPath) (\(err)); is dockerd running? (start it, or set DOCKER_HOST=unix:///path/to/docker.sock)")
        }
        return fd
    }
}

/// Reads an HTTP/1.1 response: the status line and headers, then — when `wantBody(status)` says so — the body
/// (Content-Length, chunked, or up to the close) handed to `onData` as it arrives (`onData` returns false to stop).
func readHTTPResponse(_ reader: inout SocketReader, doing: String, wantBody: (Int) -> Bool = { _ in true },
                      onData: ([UInt8]) -> Bool) throws -> Int {
    let statusLine = try reader.line(doing: doing)
    let parts = statusLine.split(separator: " ", maxSplits: 2)
    guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
        throw EngineError(doing: doing, message: "bad HTTP status line '\(statusLine.prefix(80))'")
    }
    var contentLength: Int64?
    var chunked = false
    while true {
        let line = try reader.line(doing: doing)
        if line.isEmpty { break }
        let lower = line.lowercased()
        if lower.hasPrefix("content-length:") { contentLength = Int64(lower.dropFirst(15).trimmingCharacters(in: .whitespaces)) }
        if lower.hasPrefix("transfer-encoding:") && lower.contains("chunked") { chunked = true }
    }
    guard wantBody(status) else { return status }
    if chunked {
        while true {
            let sizeLine = try reader.line(doing: doing)
            guard let size = Int(sizeLine.split(separator: ";").first.map(String.init) ?? "", radix: 16) else {
                throw EngineError(doing: doing, message: "bad chunk size '\(sizeLine)'")
            }
            if size == 0 { break }
            let data = try reader.exactly(size, doing: doing)
            _ = try reader.line(doing: doing)
            if !onData(data) { break }
        }
    } else if let n = contentLength {
        var left = n
        while left > 0 {
            let data = try reader.upTo(Int(min(left, 1 << 20)), doing: doing)
            if data.isEmpty { throw EngineError(doing: doing, message: "connection closed mid-body (\(left) bytes missing)") }
            left -= Int64(data.count)
            if !onData(data) { break }
        }
    } else {
        while true {
            let data = try reader.upTo(1 << 20, doing: doing)
            if data.isEmpty || !onData(data) { break }
        }
    }
    return status
}

func writeAll(_ fd: Int32, _ bytes: [UInt8], doing: String) throws {
    var sent = 0
    while sent < bytes.count {
        do {
            sent += try retryingEINTR("send") { bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) } }
        } catch {
            throw EngineError(doing: doing, message: error.description)
        }
    }
}

/// Buffered reads from a socket.
struct SocketReader {
    let fd: Int32
    var buffer: [UInt8] = []
    var start = 0

    init(fd: Int32) { self.fd = fd }

    private mutating func fill(doing: String) throws -> Bool {
        if start > 0 { buffer.removeFirst(start); start = 0 }
        var chunk = [UInt8](repeating: 0, count: 65536)
        do {
            let r = try retryingEINTR("recv") { chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) } }
            if r == 0 { return false }
            buffer += chunk[0..<r]
            return true
        } catch {
            throw EngineError(doing: doing, message: error.description)
        }
    }

    mutating func line(doing: String) throws -> String {
        while true {
            if let nl = buffer[start...].firstIndex(of: 0x0A) {
                var end = nl
                if end > start, buffer[end - 1] == 0x0D { end -= 1 }
                let s = String(decoding: buffer[start..<end], as: UTF8.self)
                start = nl + 1
                return s
            }
            guard try fill(doing: doing) else { throw EngineError(doing: doing, message: "connection closed mid-response") }
        }
    }

    mutating func exactly(_ n: Int, doing: String) throws -> [UInt8] {
        while buffer.count - start < n {
            guard try fill(doing: doing) else { throw EngineError(doing: doing, message: "connection closed mid-chunk") }
        }
        let out = Array(buffer[start..<start + n])
        start += n
        return out
    }

    /// Up to n bytes; empty at end of stream.
    mutating func upTo(_ n: Int, doing: String) throws -> [UInt8] {
        if buffer.count - start == 0 { guard try fill(doing: doing) else { return [] } }
        let k = min(n, buffer.count - start)
        let out = Array(buffer[start..<start + k])
        start += k
        return out
    }
}
