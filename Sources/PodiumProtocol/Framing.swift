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

/// Largest frame either side accepts; artifacts over `WorkerServer.chunkBytes` travel as `.fileChunk` frames and a `.fileEnd`.
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
            return "protocol version mismatch: this side speaks \(o), the peer \(t) — " + (o > t
                ? "the peer is older: upgrade it to this side's podium version"
                : "this side is older: upgrade it to the peer's podium version")
                + " (a worker: copy the new podium-worker onto the node, then `podium-worker stop --work-dir DIR` there; its running attempts are taken over by the new daemon)"
        }
    }
}

/// Frames are a 4-byte big-endian length followed by that many bytes: JSON, or — for the bulk replies (log data,
/// artifact files and chunks) — a binary frame: 0x00, a 4-byte header length, a small JSON header, then the raw bytes
/// (no base64, no JSON escaping of megabytes).
public enum Frame {
    struct BulkHeader: Codable {
        var kind: String
        var runID: String
        var epoch: Int
        var offset: Int64?
        var name: String?
        var sha256: String?
    }

    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        if let reply = value as? Reply, let (header, data) = bulk(reply) {
            var out = try bulkPrefix(header, payloadBytes: data.count)
            out += data
            return out
        }
        let body = try JSONEncoder().encode(value)
        var out = [UInt8]()
        out.reserveCapacity(body.count + 4)
        appendLength(&out, body.count)
        out += body
        return out
    }

    public static func decode<T: Decodable>(_ type: T.Type, body: [UInt8]) throws -> T {
        if body.first == 0, T.self == Reply.self {
            guard body.count >= 5 else { throw FrameError.decode("truncated binary frame") }
            let n = Int(body[1]) << 24 | Int(body[2]) << 16 | Int(body[3]) << 8 | Int(body[4])
            guard 5 + n <= body.count else { throw FrameError.decode("binary frame header runs past the frame") }
            let h: BulkHeader
            do { h = try JSONDecoder().decode(BulkHeader.self, from: Data(body[5..<(5 + n)])) } catch { throw FrameError.decode("\(error)") }
            let data = Data(body[(5 + n)...])
            let reply: Reply
            switch h.kind {
            case "log": reply = .log(runID: h.runID, epoch: h.epoch, offset: h.offset ?? 0, data: data)
            case "chunk": reply = .fileChunk(runID: h.runID, epoch: h.epoch, name: h.name ?? "", offset: h.offset ?? 0, data: data)
            case "file": reply = .file(runID: h.runID, epoch: h.epoch, name: h.name ?? "", sha256: h.sha256 ?? "", data: data)
            default: throw FrameError.decode("unknown binary frame kind \(h.kind)")
            }
            return reply as! T
        }
        do { return try JSONDecoder().decode(T.self, from: Data(body)) } catch { throw FrameError.decode("\(error)") }
    }

    static func bulk(_ r: Reply) -> (BulkHeader, Data)? {
        switch r {
        case .log(let runID, let epoch, let offset, let data):
            return (BulkHeader(kind: "log", runID: runID, epoch: epoch, offset: offset), data)
        case .fileChunk(let runID, let epoch, let name, let offset, let data):
            return (BulkHeader(kind: "chunk", runID: runID, epoch: epoch, offset: offset, name: name), data)
        case .file(let runID, let epoch, let name, let sha256, let data):
            return (BulkHeader(kind: "file", runID: runID, epoch: epoch, name: name, sha256: sha256), data)
        default:
            return nil
        }
    }

    /// A binary frame up to its payload: length, 0x00, header length, header.
    static func bulkPrefix(_ header: BulkHeader, payloadBytes: Int) throws -> [UInt8] {
        let h = try JSONEncoder().encode(header)
        var out = [UInt8]()
        out.reserveCapacity(9 + h.count + payloadBytes)
        appendLength(&out, 1 + 4 + h.count + payloadBytes)
        out.append(0)
        appendLength(&out, h.count)
        out += h
        return out
    }

    static func appendLength(_ out: inout [UInt8], _ n: Int) {
        let v = UInt32(n)
        out += [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)]
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
        var failure: FrameError?
        // Not zero-filled first: every byte is read into it (or the frame is dropped).
        let buf = [UInt8](unsafeUninitializedCapacity: n) { p, count in
            var got = 0
            while got < n {
                let r: Int
                do { r = try retryingEINTR("read") { read(fd, p.baseAddress! + got, n - got) } } catch {
                    failure = .io((error as? SystemError)?.reason ?? "\(error)")
                    break
                }
                if r == 0 { failure = .closed; break }
                got += r
            }
            count = failure == nil ? n : 0
        }
        if let failure { throw failure }
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
        try bytes.withUnsafeBytes { try put($0) }
    }

    /// A `.log` reply straight from the caller's buffer: the same frame as `send(Reply.log(…))`, without building it
    /// in memory first (the worker's log followers send megabytes per frame).
    public func sendLog(runID: String, epoch: Int, offset: Int64, bytes: UnsafeRawBufferPointer) throws {
        let prefix = try Frame.bulkPrefix(Frame.BulkHeader(kind: "log", runID: runID, epoch: epoch, offset: offset), payloadBytes: bytes.count)
        guard prefix.count - 4 + bytes.count <= maxFrameBytes else { throw FrameError.tooLarge(prefix.count - 4 + bytes.count) }
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        try prefix.withUnsafeBytes { try put($0) }
        try put(bytes)
    }

    private func put(_ bytes: UnsafeRawBufferPointer) throws {
        guard writeAll(fd, bytes) else { throw FrameError.io(SystemError.text(errno)) }
    }
}
