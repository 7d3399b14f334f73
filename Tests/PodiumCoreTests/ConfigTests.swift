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

/// Hardware profiles from MLE-bench's container configs, and sizes whose unit is missing.
final class HardwareProfileTests: XCTestCase {
    func profile(_ json: String, dir: String) throws -> HardwareProfile {
        let path = dir + "/sweep.json"
        try """
        {"sweep": "s", "agent": {"name": "a", "image": "i"}, "competitions": ["c"], "budgets": ["1h"], "hardware": [\(json)],
         "mlebench_dir": "m", "data_dir": "d"}
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return try decodeConfigFile(SweepConfig.self, path: path).hardware[0]
    }

    func tempDir() throws -> String {
        let d = NSTemporaryDirectory() + "podium-hw-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: d + "/cc", withIntermediateDirectories: true)
        return d
    }

    func testContainerConfigInMLEBenchsFormat() throws {
        let d = try tempDir()
        // MLE-bench's default.json: no memory limit, 4G shm, 4 CPUs, runc.
        try #"{"mem_limit": null, "shm_size": "4G", "nano_cpus": 4e9, "runtime": "runc"}"#.write(toFile: d + "/cc/default.json", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try profile(#"{"name": "p", "container_config": "cc/default.json"}"#, dir: d)) { e in
            XCTAssertTrue("\(e)".contains("mem_limit null") && "\(e)".contains("\"memory\""), "\(e)")
        }
        let p = try profile(#"{"name": "p", "container_config": "cc/default.json", "memory": "16g", "gpus": 1}"#, dir: d)
        XCTAssertEqual(p.cpus, 4)
        XCTAssertEqual(p.shmBytes, 4 << 30)
        XCTAssertEqual(p.memoryBytes, 16 << 30)
        XCTAssertEqual(p.gpus, 1)
        XCTAssertEqual(p.ociRuntime, "runc")

        try #"{"mem_limit": "32G", "shm_size": "8G", "nano_cpus": 8e9, "gpus": -1, "runtime": "sysbox-runc", "privileged": true}"#
            .write(toFile: d + "/cc/gpu.json", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try profile(#"{"name": "p", "container_config": "cc/gpu.json"}"#, dir: d)) { e in
            XCTAssertTrue("\(e)".contains("gpus -1"), "\(e)")
        }
        let g = try profile(#"{"name": "p", "container_config": "cc/gpu.json", "gpus": 2, "cpus": 6}"#, dir: d)
        XCTAssertEqual(g.memoryBytes, 32 << 30)
        XCTAssertEqual(g.cpus, 6, "a field beside the container config wins")
        XCTAssertEqual(g.ociRuntime, "sysbox-runc")
        XCTAssertTrue(g.privileged)

        try #"{"mem_limit": "32G", "cpuset_cpus": "0-3"}"#.write(toFile: d + "/cc/extra.json", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try profile(#"{"name": "p", "container_config": "cc/extra.json"}"#, dir: d)) { e in
            XCTAssertTrue("\(e)".contains("cpuset_cpus") && "\(e)".contains("never ignores"), "\(e)")
        }
        XCTAssertThrowsError(try profile(#"{"name": "p", "container_config": "cc/missing.json"}"#, dir: d)) { e in
            XCTAssertTrue("\(e)".contains("missing.json"), "\(e)")
        }
        // The stored (encoded) profile stands on its own: no path, the resolved values.
        let stored = try JSONDecoder().decode(HardwareProfile.self, from: try JSONEncoder().encode(g))
        XCTAssertEqual(stored, g)
    }

    func testSizesWithoutAUnitAreRefused() throws {
        let d = try tempDir()
        XCTAssertThrowsError(try profile(#"{"name": "p", "memory": "120"}"#, dir: d)) { e in
            XCTAssertTrue("\(e)".contains("\"120g\"") && "\(e)".contains("$.hardware[0].memory"), "\(e)")
        }
        XCTAssertThrowsError(try profile(#"{"name": "p", "memory": 64}"#, dir: d)) { e in
            XCTAssertTrue("\(e)".contains("unit"), "\(e)")
        }
        XCTAssertEqual(try profile(#"{"name": "p", "memory": "120g"}"#, dir: d).memoryBytes, 120 << 30)
        XCTAssertEqual(try profile(#"{"name": "p", "memory": 2147483648}"#, dir: d).memoryBytes, 2 << 30)
    }
}

/// Issue 21: `nodes add` rewrote the inventory (comments, units and paths gone); now it inserts one line.
final class InventoryTextTests: XCTestCase {
    func testAppendKeepsCommentsUnitsAndPaths() throws {
        let dir = NSTemporaryDirectory() + "podium-inv-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/inv.json"
        let original = """
        {
          "$comment": "lab nodes [keep me] {and me}",
          "nodes": [
            {"name": "a", "host": "a.lab", "identity_file": "keys/id", "gpus": 8, "cpus": 96, "memory": "1t"},
            {"name": "b", "host": "b.lab", "identity_file": "keys/id", "gpus": 8, "cpus": 96, "memory": "1t", "$comment": "has ] in a string"}
          ]
        }
        """
        try original.write(toFile: path, atomically: true, encoding: .utf8)
        var n = NodeSpec(name: "c", transport: .ssh, gpus: 2, cpus: 16, memoryBytes: 64 << 30)
        n.host = "c.lab"
        n.user = "eval"
        try InventoryText.append(n, toFile: path)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix(String(original.dropLast(original.count - original.range(of: "has ] in a string\"}")!.upperBound.utf16Offset(in: original)))), text)
        XCTAssertTrue(text.contains(#"    {"name": "c", "transport": "ssh", "host": "c.lab", "user": "eval", "gpus": 2, "cpus": 16, "memory": "64g"}"#), text)
        XCTAssertTrue(text.contains(#""identity_file": "keys/id""#) && text.contains(#""memory": "1t""#) && text.contains("[keep me]"))
        let inv = try Inventory.load(path: path)
        XCTAssertEqual(inv.nodes.map(\.name), ["a", "b", "c"])
        XCTAssertEqual(inv.nodes[2].memoryBytes, 64 << 30)

        // An empty nodes array, and a missing file.
        try #"{"nodes": []}"#.write(toFile: path, atomically: true, encoding: .utf8)
        try InventoryText.append(n, toFile: path)
        XCTAssertEqual(try Inventory.load(path: path).nodes.map(\.name), ["c"])
        try InventoryText.append(n, toFile: dir + "/new.json")
        XCTAssertEqual(try Inventory.load(path: dir + "/new.json").nodes.map(\.name), ["c"])
        // Not an inventory: refused, the file untouched.
        try #"{"hosts": []}"#.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try InventoryText.append(n, toFile: path))
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), #"{"hosts": []}"#)
    }
}

/// Issue 21: errors say what was found, in words, and the fix.
final class ConfigErrorWordsTests: XCTestCase {
    func testTypeMismatchSaysWhatWasFound() {
        let base = #"{"sweep": "s", "agent": {"name": "a", "image": "i"}, "competitions": ["c"], "budgets": ["1h"], "mlebench_dir": "m", "data_dir": "d""#
        XCTAssertThrowsError(try decodeConfig(SweepConfig.self, from: Data((base + #", "attempts": "3"}"#).utf8), file: "s.json")) { e in
            XCTAssertEqual("\(e)", #"error: s.json: $.attempts: found the string "3"; expected an integer — write it without quotes: 3"#)
        }
        XCTAssertThrowsError(try decodeConfig(SweepConfig.self, from: Data((base + #", "hardware": [{"name": "p", "cpus": [1]}]}"#).utf8), file: "s.json")) { e in
            XCTAssertTrue("\(e)".contains("$.hardware[0].cpus: found a list of 1; expected a number"), "\(e)")
        }
    }
}

/// The sweep's identity: what changes what an attempt does, field by field; what does not is left out.
final class SweepIdentityTests: XCTestCase {
    func config(_ edit: (inout String) -> Void = { _ in }) throws -> SweepConfig {
        var text = """
        {"sweep": "s", "agent": {"name": "a", "image": "img:1", "env": {"K": "v"}}, "competitions": ["c"], "attempts": 2,
         "budgets": ["24h"], "hardware": [{"name": "gpu", "gpus": 1, "cpus": 4, "memory": "16g"}],
         "mlebench_dir": "/m", "data_dir": "/d", "state": "/s.sqlite", "inventory": "/i.json", "lost_after": "10m"}
        """
        edit(&text)
        return try decodeConfig(SweepConfig.self, from: Data(text.utf8), file: "sweep.json")
    }

    func testAChangedImageIsTheOneChangeListed() throws {
        let a = SweepIdentity(config: try config(), agentJSON: nil)
        let b = SweepIdentity(config: try config { $0 = $0.replacingOccurrences(of: "img:1", with: "img:2") }, agentJSON: nil)
        XCTAssertEqual(a.changes(to: b), [.init(path: "agent.image", old: "\"img:1\"", new: "\"img:2\"")])
        XCTAssertEqual(a.changes(to: a), [])
    }

    func testEnvHardwareAndResolvedAgentAreIdentityTheGridAndOperationsAreNot() throws {
        let base = SweepIdentity(config: try config(), agentJSON: #"{"id":"aide","source":"mlebench","image":"img:1","config_path":"/x/config.yaml","config_sha256":"aa","arguments":["a=1"]}"#)
        let env = SweepIdentity(config: try config { $0 = $0.replacingOccurrences(of: "\"v\"", with: "\"w\"") }, agentJSON: nil)
        XCTAssertTrue(SweepIdentity(config: try config(), agentJSON: nil).changes(to: env).map(\.path) == ["agent.env.K"])
        let memory = SweepIdentity(config: try config { $0 = $0.replacingOccurrences(of: "16g", with: "32g") }, agentJSON: nil)
        XCTAssertEqual(SweepIdentity(config: try config(), agentJSON: nil).changes(to: memory).map(\.path), ["hardware[gpu].memory"])
        // More attempts, another budget, another inventory, state or lost_after: the same attempts.
        let grown = SweepIdentity(config: try config {
            $0 = $0.replacingOccurrences(of: "\"attempts\": 2", with: "\"attempts\": 8").replacingOccurrences(of: "[\"24h\"]", with: "[\"24h\", \"100h\"]")
                .replacingOccurrences(of: "/i.json", with: "/j.json").replacingOccurrences(of: "10m", with: "1h")
        }, agentJSON: base.fields.isEmpty ? nil : #"{"id":"aide","source":"mlebench","image":"img:1","config_path":"/moved/config.yaml","config_sha256":"aa","arguments":["a=1"]}"#)
        XCTAssertEqual(base.changes(to: grown), [], "a moved agent checkout is the same agent")
        let kwargs = SweepIdentity(config: try config(), agentJSON: #"{"id":"aide","source":"mlebench","image":"img:1","config_sha256":"bb","arguments":["a=2"]}"#)
        XCTAssertEqual(base.changes(to: kwargs).map(\.path), ["agent.resolved.arguments", "agent.resolved.config_sha256"])
    }

    func testDurationsNeedAUnit() throws {
        for bad in [#"["24"]"#, "[24]", #"["1.5"]"#] {
            XCTAssertThrowsError(try config { $0 = $0.replacingOccurrences(of: #"["24h"]"#, with: bad) }, bad) { e in
                let text = "\(e)"
                XCTAssertTrue(text.contains("$.budgets[0]") && text.contains("write the unit") && text.contains("24h"), text)
            }
        }
        XCTAssertThrowsError(try config { $0 = $0.replacingOccurrences(of: "\"10m\"", with: "\"600\"") })
        XCTAssertEqual(try config { $0 = $0.replacingOccurrences(of: #"["24h"]"#, with: #"["90s", "1h30m"]"#) }.budgets.map(\.seconds), [90, 5400])
    }
}

final class InventoryEntryTests: XCTestCase {
    /// `podium nodes add --work-dir --worker-command` writes both, and the line reads back as the same node.
    func testWorkDirAndWorkerCommandAreWrittenAndReadBack() throws {
        var n = NodeSpec(name: "gpu01", transport: .ssh, gpus: 8, cpus: 64, memoryBytes: 512 << 30)
        n.host = "gpu01.lab"
        n.workDir = "/srv/podium-worker"
        n.workerCommand = ["sudo", "-n", "/usr/local/bin/podium-worker"]
        let line = InventoryText.entry(n)
        XCTAssertTrue(line.contains(#""work_dir": "/srv/podium-worker""#), line)
        let back = try decodeConfig(Inventory.self, from: Data("{\"nodes\": [\(line)]}".utf8), file: "inventory.json").nodes[0]
        XCTAssertEqual(back.workDir, "/srv/podium-worker")
        XCTAssertEqual(back.workerCommand, ["sudo", "-n", "/usr/local/bin/podium-worker"])
    }
}

final class InventoryOrSweepTests: XCTestCase {
    /// `--inventory lab-sweep.json` says that the file is a sweep file and which argument it belongs to.
    func testASweepFileGivenAsTheInventorySaysWhichIsWhich() throws {
        let path = NSTemporaryDirectory() + "podium-sweep-as-inventory-\(UInt32.random(in: 0...UInt32.max)).json"
        try #"{"sweep": "lab", "inventory": "lab-nodes.json", "agent": {"name": "a", "image": "i"}}"#.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertThrowsError(try Inventory.load(path: path)) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains("a sweep file (sweep 'lab')") && text.contains("lab-nodes.json"), text)
        }
    }
}
