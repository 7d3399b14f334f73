import XCTest
@testable import PodiumProtocol

/// Log data and artifact bytes travel in binary frames (no base64); everything round-trips exactly.
final class BulkFrameTests: XCTestCase {
    func roundTrip(_ r: Reply) throws -> (Reply, Int) {
        let bytes = try Frame.encode(r)
        let n = Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
        XCTAssertEqual(n, bytes.count - 4)
        return (try Frame.decode(Reply.self, body: Array(bytes[4...])), bytes.count)
    }

    func testBulkRepliesAreBinaryAndExact() throws {
        var payload = [UInt8](repeating: 0, count: 1 << 20)
        for i in payload.indices { payload[i] = UInt8(truncatingIfNeeded: i &* 2654435761 >> 13) }
        let data = Data(payload)
        for r in [Reply.log(runID: "r1", epoch: 3, offset: 1 << 33, data: data),
                  .fileChunk(runID: "r1", epoch: 3, name: "code/big.bin", offset: 8 << 20, data: data),
                  .file(runID: "r1", epoch: 3, name: "submission/submission.csv", sha256: "ab12", data: data),
                  .log(runID: "r\"quoted\"", epoch: 1, offset: 0, data: Data())] {
            let (back, size) = try roundTrip(r)
            XCTAssertEqual(back, r)
            XCTAssertLessThan(size, data.count + 200, "no base64 inflation")
        }
        // Everything else stays JSON (readable, versioned by the handshake).
        let (back, _) = try roundTrip(.fileEnd(runID: "r", epoch: 1, name: "x", sha256: "s", bytes: 5))
        XCTAssertEqual(back, .fileEnd(runID: "r", epoch: 1, name: "x", sha256: "s", bytes: 5))
        XCTAssertEqual(try Frame.encode(Reply.fileEnd(runID: "r", epoch: 1, name: "x", sha256: "s", bytes: 5))[4], UInt8(ascii: "{"))
        // A truncated or unknown binary frame is an error, never a crash.
        XCTAssertThrowsError(try Frame.decode(Reply.self, body: [0, 0, 0]))
        XCTAssertThrowsError(try Frame.decode(Reply.self, body: [0, 0, 0, 0, 200, 1, 2]))
        let bogus = Array(#"{"kind":"nope","runID":"r","epoch":1}"#.utf8)
        XCTAssertThrowsError(try Frame.decode(Reply.self, body: [0, 0, 0, 0, UInt8(bogus.count)] + bogus))
    }
}

/// The worker's log followers send straight from their read buffer; the frame must be the very one `send` writes.
final class SendLogTests: XCTestCase {
    func testSendLogWritesTheSameFrameAsSend() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        defer { close(fds[0]) }
        var payload = [UInt8](repeating: 0, count: 300_000)
        for i in payload.indices { payload[i] = UInt8(truncatingIfNeeded: i &* 7919 >> 3) }
        let reply = Reply.log(runID: "r\"q\"", epoch: 4, offset: 1 << 32, data: Data(payload))
        let expected = try Frame.encode(reply)
        let writer = FrameWriter(fd: fds[1])
        let bytes = payload, writeEnd = fds[1]
        // The pipe holds 64 KiB: write from another thread while this one reads.
        let done = DispatchSemaphore(value: 0)
        let sendError = LockedBox<Error?>(nil)
        Thread.detachNewThread {
            do {
                try bytes.withUnsafeBytes { try writer.sendLog(runID: "r\"q\"", epoch: 4, offset: 1 << 32, bytes: $0) }
                try writer.send(reply)
            } catch { sendError.set(error) }
            close(writeEnd)
            done.signal()
        }
        var got = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
            if n <= 0 { break }
            got += buf[0..<n]
        }
        done.wait()
        XCTAssertNil(sendError.get())
        // Two frames, each the same reply (JSONEncoder may order the header's keys differently, so compare decoded).
        XCTAssertEqual(got.count, 2 * expected.count)
        guard got.count == 2 * expected.count else { return }
        for start in [0, expected.count] {
            let n = Int(got[start]) << 24 | Int(got[start + 1]) << 16 | Int(got[start + 2]) << 8 | Int(got[start + 3])
            XCTAssertEqual(n, expected.count - 4)
            XCTAssertTrue(try Frame.decode(Reply.self, body: Array(got[(start + 4)..<(start + expected.count)])) == reply)
        }
    }
}

final class LockedBox<T>: @unchecked Sendable {
    private var value: T
    private let lock = NSLock()
    init(_ v: T) { value = v }
    func set(_ v: T) { lock.lock(); value = v; lock.unlock() }
    func get() -> T { lock.lock(); defer { lock.unlock() }; return value }
}

/// `welcome` gained the node's GPU model; a worker that does not send it still decodes (model absent).
final class WelcomeCompatibilityTests: XCTestCase {
    func testWelcomeWithAndWithoutGPUModel() throws {
        let withModel = Reply.welcome(protocolVersion: 3, workerVersion: "0.1.0", node: "n", gpus: 8, cpus: 96, memoryBytes: 1 << 40,
                                      gpuModel: "NVIDIA H100 80GB HBM3")
        let bytes = try Frame.encode(withModel)
        XCTAssertEqual(try Frame.decode(Reply.self, body: Array(bytes[4...])), withModel)
        let old = #"{"welcome":{"protocolVersion":3,"workerVersion":"0.1.0","node":"n","gpus":8,"cpus":96,"memoryBytes":1099511627776}}"#
        guard case .welcome(_, _, _, let gpus, _, _, let model) = try Frame.decode(Reply.self, body: Array(old.utf8)) else {
            return XCTFail("old welcome not decoded")
        }
        XCTAssertEqual(gpus, 8)
        XCTAssertNil(model)
    }
}
