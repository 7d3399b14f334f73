import XCTest
@testable import PodiumCore

final class ConfigTests: XCTestCase {
    let valid = """
    {"sweep": "s1", "agent": {"name": "a", "image": "img"}, "competitions": {"split": "low"}, "attempts": 2,
     "budgets": ["24h", "100h"], "hardware": [{"name": "g1", "gpus": 1, "cpus": 8, "memory": "32g"}],
     "mlebench_dir": "mle", "data_dir": "data"}
    """

    func decode(_ json: String) throws -> SweepConfig {
        try decodeConfig(SweepConfig.self, from: Data(json.utf8), file: "sweep.json")
    }

    func configError(_ json: String, file: StaticString = #filePath, line: UInt = #line) -> ConfigError? {
        do {
            _ = try decode(json)
            XCTFail("expected a ConfigError", file: file, line: line)
            return nil
        } catch let e as ConfigError {
            return e
        } catch {
            XCTFail("expected a ConfigError, got \(error)", file: file, line: line)
            return nil
        }
    }

    func testValidConfigDecodes() throws {
        let c = try decode(valid)
        XCTAssertEqual(c.sweep, "s1")
        XCTAssertEqual(c.budgets.map(\.seconds), [86_400, 360_000])
        XCTAssertEqual(c.hardware[0].memoryBytes, 32 << 30)
        XCTAssertEqual(c.competitions, .split("low"))
        XCTAssertEqual(c.snapshotInterval.seconds, 600)
    }

    func testMisspelledFieldIsNamedWithSuggestion() throws {
        let e = configError(valid.replacingOccurrences(of: "\"attempts\"", with: "\"attemps\""))
        XCTAssertEqual(e?.file, "sweep.json")
        XCTAssertEqual(e?.path, "$.attemps")
        XCTAssertTrue(e?.description.contains("did you mean 'attempts'") ?? false, e?.description ?? "")
    }

    func testNestedMisspelledField() {
        let e = configError(valid.replacingOccurrences(of: "\"image\"", with: "\"imagee\""))
        XCTAssertEqual(e?.path, "$.agent.imagee")
        let h = configError(valid.replacingOccurrences(of: "\"gpus\"", with: "\"gpu\""))
        XCTAssertEqual(h?.path, "$.hardware[0].gpu")
    }

    func testWrongTypeNamesPath() {
        let e = configError(valid.replacingOccurrences(of: "\"attempts\": 2", with: "\"attempts\": \"two\""))
        XCTAssertEqual(e?.path, "$.attempts")
        XCTAssertTrue(e?.description.contains("integer") ?? false, e?.description ?? "")
    }

    func testBadDuration() {
        let e = configError(valid.replacingOccurrences(of: "\"100h\"", with: "\"100 hours\""))
        XCTAssertEqual(e?.path, "$.budgets[1]")
        XCTAssertTrue(e?.description.contains("24h") ?? false)
    }

    func testAttemptsBelowOne() {
        let e = configError(valid.replacingOccurrences(of: "\"attempts\": 2", with: "\"attempts\": 0"))
        XCTAssertEqual(e?.path, "$.attempts")
    }

    func testMissingRequiredField() {
        let e = configError(valid.replacingOccurrences(of: "\"sweep\": \"s1\",", with: ""))
        XCTAssertEqual(e?.path, "$.sweep")
    }

    func testNotJSON() {
        let e = configError("{ nope")
        XCTAssertNil(e?.path)
        XCTAssertTrue(e?.description.contains("not valid JSON") ?? false)
    }

    func testCompetitionSelectionForms() throws {
        XCTAssertEqual(try decode(valid.replacingOccurrences(of: "{\"split\": \"low\"}", with: "\"medium\"")).competitions, .split("medium"))
        XCTAssertEqual(try decode(valid.replacingOccurrences(of: "{\"split\": \"low\"}", with: "[\"a\", \"b\"]")).competitions, .ids(["a", "b"]))
        XCTAssertEqual(try decode(valid.replacingOccurrences(of: "{\"split\": \"low\"}", with: "{\"file\": \"ids.txt\"}")).competitions, .file("ids.txt"))
        let both = configError(valid.replacingOccurrences(of: "{\"split\": \"low\"}", with: "{\"split\": \"low\", \"ids\": [\"a\"]}"))
        XCTAssertEqual(both?.path, "$.competitions")
    }

    func testInventoryRequiresHostForSSH() {
        let json = #"{"nodes": [{"name": "n1", "transport": "ssh"}]}"#
        XCTAssertThrowsError(try decodeConfig(Inventory.self, from: Data(json.utf8), file: "inv.json")) { e in
            XCTAssertEqual((e as? ConfigError)?.path, "$.nodes[0].host")
        }
        let dup = #"{"nodes": [{"name": "n1", "cpus": 2}, {"name": "n1", "cpus": 2}]}"#
        XCTAssertThrowsError(try decodeConfig(Inventory.self, from: Data(dup.utf8), file: "inv.json")) { e in
            XCTAssertEqual((e as? ConfigError)?.path, "$.nodes[1].name")
        }
    }

    func testRepositoryDefaultSweepLoads() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let c = try SweepConfig.load(path: root + "/scheduler.json")
        XCTAssertEqual(c.competitions, .split("mini"))
        XCTAssertTrue(c.mlebenchDir.hasPrefix("/"), "paths resolve against the file's directory: \(c.mlebenchDir)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: c.inventory))
    }
}
