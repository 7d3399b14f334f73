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
