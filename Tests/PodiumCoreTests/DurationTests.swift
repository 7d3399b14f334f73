import XCTest
@testable import PodiumCore

final class DurationTests: XCTestCase {
    func testParsesUnitsAndCombinations() {
        XCTAssertEqual(BudgetDuration(parsing: "24h")?.seconds, 86_400)
        XCTAssertEqual(BudgetDuration(parsing: "100h")?.seconds, 360_000)
        XCTAssertEqual(BudgetDuration(parsing: "90s")?.seconds, 90)
        XCTAssertEqual(BudgetDuration(parsing: "1h30m")?.seconds, 5_400)
        XCTAssertEqual(BudgetDuration(parsing: "2d")?.seconds, 172_800)
        XCTAssertEqual(BudgetDuration(parsing: "45")?.seconds, 45)
    }

    func testRejectsMalformed() {
        for bad in ["", "h", "24x", "1h30", "-5s", "0s", "abc", "1.5h"] {
            XCTAssertNil(BudgetDuration(parsing: bad), bad)
        }
    }

    func testCanonicalDescription() {
        XCTAssertEqual(BudgetDuration(seconds: 5_400).description, "1h30m")
        XCTAssertEqual(BudgetDuration(seconds: 90).description, "1m30s")
        XCTAssertEqual(BudgetDuration(seconds: 86_400).description, "24h")
        XCTAssertEqual(BudgetDuration(seconds: 360_000).description, "100h")
    }

    func testByteSizes() {
        XCTAssertEqual(parseByteSize("16g"), 16 << 30)
        XCTAssertEqual(parseByteSize("512m"), 512 << 20)
        XCTAssertEqual(parseByteSize("2GiB"), 2 << 30)
        XCTAssertNil(parseByteSize("lots"))
    }

    func testSHA256KnownVectors() {
        XCTAssertEqual(SHA256.hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(String(repeating: "a", count: 1_000)),
                       "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
        // Streaming in odd pieces equals one shot.
        var s = SHA256()
        let bytes = Array(String(repeating: "podium", count: 100).utf8)
        var i = 0
        while i < bytes.count { let j = min(bytes.count, i + 37); s.update(bytes[i..<j]); i = j }
        XCTAssertEqual(s.hexDigest(), SHA256.hex(bytes))
        // A value type: a copy taken mid-stream goes its own way.
        var a = SHA256()
        a.update("ab")
        var b = a
        a.update("c")
        b.update("x")
        XCTAssertEqual(a.hexDigest(), SHA256.hex("abc"))
        XCTAssertEqual(b.hexDigest(), SHA256.hex("abx"))
    }
}
