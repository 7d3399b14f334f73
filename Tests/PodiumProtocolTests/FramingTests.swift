import XCTest
@testable import PodiumProtocol
import PodiumCore
#if canImport(Glibc)
import Glibc
#endif
import PodiumSystem

final class FramingTests: XCTestCase {
    func testRoundTripThroughAPipe() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        defer { close(fds[0]); close(fds[1]) }
        let writer = FrameWriter(fd: fds[1])
        let req = StartRequest(runID: "r1", epoch: 3, sweep: "s", competition: "c", image: "img", command: ["/a", "b c"],
                               env: ["K": "V"], dataDir: "/d", budgetSeconds: 10, graceSeconds: 2, snapshotIntervalSeconds: 5,
                               cpus: 1.5, memoryBytes: 1 << 30, shmBytes: 1 << 20, gpus: 0, network: false)
        let blob = Data((0..<1000).map { UInt8($0 % 256) })
        try writer.send(Request.start(req))
        try writer.send(Reply.log(runID: "r1", epoch: 3, offset: 42, data: blob))
        let reader = FrameReader(fd: fds[0])
        XCTAssertEqual(try reader.next(Request.self), .start(req))
        XCTAssertEqual(try reader.next(Reply.self), .log(runID: "r1", epoch: 3, offset: 42, data: blob))
    }

    func testClosedAndOversizedFrames() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        let reader = FrameReader(fd: fds[0])
        let huge: [UInt8] = [0x7f, 0xff, 0xff, 0xff]
        _ = huge.withUnsafeBytes { write(fds[1], $0.baseAddress, 4) }
        XCTAssertThrowsError(try reader.next(Reply.self)) { XCTAssertEqual($0 as? FrameError, .tooLarge(0x7fffffff)) }
        close(fds[1])
        XCTAssertThrowsError(try reader.next(Reply.self)) { XCTAssertEqual($0 as? FrameError, .closed) }
        close(fds[0])
    }

    func testConcurrentWritersNeverInterleave() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        defer { close(fds[0]) }
        let writer = FrameWriter(fd: fds[1])
        let done = Locked(0)
        for t in 0..<4 {
            BlockingThread.start {
                for i in 0..<50 { try? writer.send(Reply.error(runID: "t\(t)", message: String(repeating: "x", count: i * 37))) }
                done.withLock { $0 += 1 }
            }
        }
        let reader = FrameReader(fd: fds[0])
        var counts = [String: Int]()
        for _ in 0..<200 {
            guard case .error(let id?, _) = try reader.next(Reply.self) else { return XCTFail("unexpected frame") }
            counts[id, default: 0] += 1
        }
        XCTAssertEqual(counts, ["t0": 50, "t1": 50, "t2": 50, "t3": 50])
        close(fds[1])
    }
}
