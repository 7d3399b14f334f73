#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Largest frame either side accepts; bigger artifacts are split into several `.file` frames by the worker (todo: issue 4).
public let maxFrameBytes = 64 << 20

public enum FrameError: Error, CustomStringConvertible, Equatable {
    case closed
    case tooLarge(Int)
    case io(String)
    case decode(String)
    case versionMismatch(ours: Int, theirs: Int)

    public var description: String {
        switch self {
        case .closed: return "the peer closed the connection"
        case .tooLarge(let n): return "frame of \(n) bytes exceeds the \(maxFrameBytes)-byte limit"
        case .io(let s): return "frame I/O failed: \(s)"
        case .decode(let s): return "undecodable frame: \(s)"
        case .versionMismatch(let o, let t):
            return "protocol version mismatch: this side speaks \(o), the peer \(t) — install the same podium version on coordinator and workers"
        }
    }
}

/// Frames are a 4-byte big-endian length followed by that many bytes of JSON.
public enum Frame {
    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let body = try JSONEncoder().encode(value)
        var out = [UInt8]()
        out.reserveCapacity(body.count + 4)
        let n = UInt32(body.count)
        out += [UInt8(n >> 24), UInt8((n >> 16) & 0xff), UInt8((n >> 8) & 0xff), UInt8(n & 0xff)]
        out += body
        return out
    }

    public static func decode<T: Decodable>(_ type: T.Type, body: [UInt8]) throws -> T {
        do { return try JSONDecoder().decode(T.self, from: Data(body)) } catch { throw FrameError.decode("\(error)") }
    }
}

/// Blocking frame reader on a file descriptor. Use from a dedicated thread.
public struct FrameReader: Sendable {
    public let fd: Int32
    public init(fd: Int32) { self.fd = fd }

    public func next<T: Decodable>(_ type: T.Type) throws -> T {
        let header = try readExactly(4)
        let n = Int(header[0]) << 24 | Int(header[1]) << 16 | Int(header[2]) << 8 | Int(header[3])
        guard n <= maxFrameBytes else { throw FrameError.tooLarge(n) }
        return try Frame.decode(T.self, body: try readExactly(n))
    }

    private func readExactly(_ n: Int) throws -> [UInt8] {
        var buf = [UInt8](repeating: 0, count: n)
        var got = 0
        while got < n {
            let r = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, n - got) }
            if r == 0 { throw FrameError.closed }
            if r < 0 {
                if errno == EINTR { continue }
                throw FrameError.io(String(cString: strerror(errno)))
            }
            got += r
        }
        return buf
    }
}

/// Thread-safe frame writer: frames from several threads never interleave.
public final class FrameWriter: @unchecked Sendable {
    public let fd: Int32
    private var mutex = pthread_mutex_t()

    public init(fd: Int32) {
        self.fd = fd
        pthread_mutex_init(&mutex, nil)
    }

    public func send<T: Encodable>(_ value: T) throws {
        let bytes = try Frame.encode(value)
        guard bytes.count - 4 <= maxFrameBytes else { throw FrameError.tooLarge(bytes.count - 4) }
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        var sent = 0
        while sent < bytes.count {
            let w = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + sent, bytes.count - sent) }
            if w < 0 {
                if errno == EINTR { continue }
                throw FrameError.io(String(cString: strerror(errno)))
            }
            sent += w
        }
    }
}
