import XCTest
import PodiumCore
@testable import PodiumCoordinator

/// Issue 21: a secret that is not set was dropped silently; the sweep ran and the agent burnt its budget without it.
final class PreflightTests: XCTestCase {
    func testMissingSecretIsAConfigErrorNamingItAndTheAgent() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("podium-preflight-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try #"{"nodes": [{"name": "n", "transport": "local", "runtime": "process", "cpus": 2, "memory": "4g"}]}"#
            .write(toFile: dir + "/inventory.json", atomically: true, encoding: .utf8)
        try """
        {"sweep": "s", "agent": {"name": "aide", "image": "none", "command": ["true"], "secrets": ["PODIUM_TEST_KEY_A", "PODIUM_TEST_KEY_B"]},
         "competitions": ["wine-cultivar"], "budgets": ["60s"], "hardware": [{"name": "cpu", "cpus": 1, "memory": "1g"}],
         "inventory": "inventory.json", "mlebench_dir": "\(repo)/benchmark/mini", "data_dir": "\(repo)/benchmark/mini-data"}
        """.write(toFile: dir + "/sweep.json", atomically: true, encoding: .utf8)
        let setup = try SweepSetup.load(configPath: dir + "/sweep.json", overrides: SweepOverrides())
        XCTAssertThrowsError(try setup.checkSecrets(environment: ["PODIUM_TEST_KEY_A": "x"])) { error in
            let e = error as? ConfigError
            XCTAssertEqual(e?.path, "$.agent.secrets[1]")
            XCTAssertTrue("\(error)".contains("PODIUM_TEST_KEY_B") && "\(error)".contains("aide"), "\(error)")
        }
        XCTAssertThrowsError(try setup.checkSecrets(environment: ["PODIUM_TEST_KEY_A": "x", "PODIUM_TEST_KEY_B": ""]), "an empty value is not a key")
        XCTAssertNoThrow(try setup.checkSecrets(environment: ["PODIUM_TEST_KEY_A": "x", "PODIUM_TEST_KEY_B": "y"]))
    }
}

/// Issue 21: `nodes check` passed a node declaring 8 GPUs, 96 CPUs and 1t of memory that had 0 GPUs and 2 CPUs.
final class DeclaredVersusMeasuredTests: XCTestCase {
    func node(_ json: String) throws -> NodeSpec {
        try JSONDecoder().decode(Inventory.self, from: Data("{\"nodes\": [\(json)]}".utf8)).nodes[0]
    }

    /// A daemon already running on the node in another work directory (a systemd one) is said, with the fix.
    func testADaemonInAnotherWorkDirIsNoted() throws {
        let n = try node(#"{"name": "g", "host": "h", "cpus": 2, "memory": "1g"}"#)
        var r = NodeReport(node: "g", transport: "ssh", ok: false, gpus: [])
        r.cpus = 2; r.memory_bytes = 4 << 30
        r.daemon_work_dirs = ["/srv/podium"]
        NodeProbe.compare(n, &r)
        XCTAssertTrue(r.notes.contains { $0.contains("--work-dir /srv/podium") && $0.contains("/var/lib/podium-worker") && $0.contains("--work-dir DIR") }, "\(r.notes)")
        var same = NodeReport(node: "g", transport: "ssh", ok: false, gpus: [])
        same.cpus = 2; same.memory_bytes = 4 << 30
        same.daemon_work_dirs = ["/var/lib/podium-worker"]
        NodeProbe.compare(n, &same)
        XCTAssertFalse(same.notes.contains { $0.contains("daemon runs there") })
    }

    func testEveryOverstatementIsFlagged() throws {
        let n = try node(#"{"name": "big", "host": "h", "gpus": 8, "cpus": 96, "memory": "1t", "disk": "2t"}"#)
        var r = NodeReport(node: "big", transport: "ssh", ok: false, gpus: [])
        r.cpus = 2; r.memory_bytes = 24 << 30; r.disk_free_bytes = 80 << 30
        NodeProbe.compare(n, &r)
        XCTAssertEqual(r.mismatches.count, 3, "\(r.mismatches)")
        XCTAssertTrue(r.mismatches.contains { $0.contains("96 CPUs") && $0.contains("has 2") })
        XCTAssertTrue(r.mismatches.contains { $0.contains("1024 GiB of memory") })
        XCTAssertTrue(r.mismatches.contains { $0.contains("scratch disk") })
        XCTAssertTrue(r.notes.contains { $0.contains("stand-in") }, "GPU slots on a machine without GPUs are stand-ins: noted")

        // Real GPUs that disagree with the count and the model.
        let g = try node(#"{"name": "g", "host": "h", "gpus": 8, "cpus": 2, "memory": "1g", "gpu_model": "H100"}"#)
        var rg = NodeReport(node: "g", transport: "ssh", ok: false, gpus: ["0, NVIDIA A100-SXM4-80GB, GPU-1", "1, NVIDIA A100-SXM4-80GB, GPU-2"])
        rg.cpus = 2; rg.memory_bytes = 4 << 30
        NodeProbe.compare(g, &rg)
        XCTAssertEqual(rg.mismatches.count, 2, "\(rg.mismatches)")
        XCTAssertTrue(rg.mismatches.contains { $0.contains("nvidia-smi finds 2") })
        XCTAssertTrue(rg.mismatches.contains { $0.contains("H100") && $0.contains("A100") })

        // Oversubscription on purpose is noted, not failed; an honest node has nothing to say.
        let o = try node(#"{"name": "o", "transport": "local", "cpus": 8, "memory": "16g", "oversubscribe": true}"#)
        var ro = NodeReport(node: "o", transport: "local", ok: false, gpus: [])
        ro.cpus = 2; ro.memory_bytes = 24 << 30
        NodeProbe.compare(o, &ro)
        XCTAssertTrue(ro.mismatches.isEmpty)
        XCTAssertEqual(ro.notes.count, 1)
        let honest = try node(#"{"name": "h", "transport": "local", "cpus": 2, "memory": "16g"}"#)
        var rh = NodeReport(node: "h", transport: "local", ok: false, gpus: [])
        rh.cpus = 2; rh.memory_bytes = 24 << 30
        NodeProbe.compare(honest, &rh)
        XCTAssertTrue(rh.mismatches.isEmpty && rh.notes.isEmpty)
    }

    func testTransportNamesItsValidValues() {
        XCTAssertThrowsError(try node(#"{"name": "n", "transport": "SSH", "host": "h"}"#)) { e in
            XCTAssertTrue("\(e)".contains("\"local\"") && "\(e)".contains("\"ssh\"") && "\(e)".contains("lower case"), "\(e)")
        }
    }

    /// The measured memory is /proc/meminfo's (issue 21 acceptance: within 5%).
    func testLocalProbeMemoryMatchesProcMeminfo() throws {
        let n = try node(#"{"name": "l", "transport": "local", "runtime": "process", "cpus": 1, "memory": "1g"}"#)
        let r = NodeProbe.check(n, localWorker: ["true"])
        let meminfo = try String(contentsOfFile: "/proc/meminfo", encoding: .utf8)
        let kb = Int64(meminfo.split(separator: "\n").first { $0.hasPrefix("MemTotal") }!.split(separator: " ")[1])!
        let measured = try XCTUnwrap(r.memory_bytes)
        XCTAssertLessThan(abs(Double(measured - kb * 1024)) / Double(kb * 1024), 0.05)
    }
}

/// Issue 21: plan and sweep share one preflight; what would fail hours later stops them now.
final class PreflightRunTests: XCTestCase {
    func testUnreadableKeyMissingDataAndSecretAreErrors() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("podium-preflight2-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir + "/data", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try #"{"nodes": [{"name": "far", "host": "far.example", "identity_file": "keys/missing_ed25519", "cpus": 2, "memory": "4g", "runtime": "process"}]}"#
            .write(toFile: dir + "/inventory.json", atomically: true, encoding: .utf8)
        try """
        {"sweep": "s", "agent": {"name": "a", "image": "none", "command": ["true"], "secrets": ["PODIUM_PREFLIGHT_SECRET"]},
         "competitions": ["wine-cultivar"], "budgets": ["60s"], "hardware": [{"name": "cpu", "cpus": 1, "memory": "1g"}],
         "inventory": "inventory.json", "mlebench_dir": "\(repo)/benchmark/mini", "data_dir": "data"}
        """.write(toFile: dir + "/sweep.json", atomically: true, encoding: .utf8)
        let setup = try SweepSetup.load(configPath: dir + "/sweep.json", overrides: SweepOverrides())
        let findings = Preflight.run(setup, localWorker: ["true"], probeNodes: false, environment: [:])
        let errors = findings.filter { $0.level == .error }.map(\.message)
        XCTAssertEqual(errors.count, 3, "\(findings)")
        XCTAssertTrue(errors.contains { $0.contains("PODIUM_PREFLIGHT_SECRET") })
        XCTAssertTrue(errors.contains { $0.contains("wine-cultivar") && $0.contains("public data") })
        XCTAssertTrue(errors.contains { $0.contains("keys/missing_ed25519") && $0.contains("not readable") })
    }
}

/// Issue 21: "every profile fits some node — and say which resource does not".
final class ProfileFitTests: XCTestCase {
    func testTheErrorNamesTheResourceEachNodeLacks() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("podium-fit-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try #"{"nodes": [{"name": "small", "host": "s", "gpus": 2, "cpus": 16, "memory": "64g"}, {"name": "cpu", "host": "c", "gpus": 0, "cpus": 64, "memory": "512g"}]}"#
            .write(toFile: dir + "/inventory.json", atomically: true, encoding: .utf8)
        try """
        {"sweep": "s", "agent": {"name": "a", "image": "i"}, "competitions": ["wine-cultivar"], "budgets": ["1h"],
         "hardware": [{"name": "big", "gpus": 4, "cpus": 8, "memory": "128g"}],
         "inventory": "inventory.json", "mlebench_dir": "\(repo)/benchmark/mini", "data_dir": "\(repo)/benchmark/mini-data"}
        """.write(toFile: dir + "/sweep.json", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try SweepSetup.load(configPath: dir + "/sweep.json", overrides: SweepOverrides())) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains("small lacks 4 GPUs (has 2), 131072 MiB of memory (has 65536 MiB)"), text)
            XCTAssertTrue(text.contains("cpu lacks 4 GPUs (has 0)"), text)
        }
    }
}

/// Issue 18: a node's bounded data cache in the inventory; data no cache can hold is an error before the sweep.
final class DataCacheConfigTests: XCTestCase {
    func testDataCacheParsesAndTooLargeDataIsRefused() throws {
        let inv = try JSONDecoder().decode(Inventory.self, from: Data("""
            {"nodes": [{"name": "a", "host": "a", "data_cache": {"path": "/scratch/p", "max_bytes": "1TB"}},
                       {"name": "b", "host": "b", "data_cache": {"path": "/scratch/p", "max_bytes": "2TiB"}}]}
            """.utf8))
        XCTAssertEqual(inv.nodes.map { $0.dataCache?.maxBytes }, [1_000_000_000_000, 2 << 40])
        let sources = try JSONDecoder().decode(Inventory.self, from: Data("""
            {"nodes": [{"name": "a", "host": "a", "data_cache": {"path": "/c", "max_bytes": "1TB", "source": "http://mirror:8080/data"}},
                       {"name": "b", "host": "b", "data_cache": {"path": "/c", "max_bytes": "1TB", "source": "/nfs/mle-bench/data"}},
                       {"name": "c", "host": "c", "data_cache": {"path": "/c", "max_bytes": "1TB", "source": "push"}}]}
            """.utf8))
        XCTAssertEqual(sources.nodes.map { $0.dataCache?.source }, [.http("http://mirror:8080/data"), .shared("/nfs/mle-bench/data"), .push])
        for (bad, words) in [("https://m/data", "not TLS, yet"), ("mirror/data", "an absolute path the node can read"), ("ftp://m", "http:// URL prefix")] {
            XCTAssertThrowsError(try JSONDecoder().decode(Inventory.self, from: Data(#"{"nodes": [{"name": "a", "host": "a", "data_cache": {"path": "/c", "max_bytes": "1TB", "source": "\#(bad)"}}]}"#.utf8))) {
                XCTAssertTrue("\($0)".contains("data_cache.source") && "\($0)".contains(words), "\($0)")
            }
        }
        for bad in [#"{"path": "rel", "max_bytes": "1TB"}"#, #"{"path": "/p", "max_bytes": "12"}"#, #"{"path": "/p", "max": "1TB"}"#] {
            XCTAssertThrowsError(try JSONDecoder().decode(Inventory.self, from: Data(#"{"nodes": [{"name": "a", "host": "a", "data_cache": \#(bad)}]}"#.utf8)), bad)
        }
        let shared = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path + "/../shared/mle-bench"
        guard FileManager.default.fileExists(atPath: shared + "/experiments/competition_categories.csv") else { throw XCTSkip("../shared/mle-bench not present") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("podium-dc-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try #"{"nodes": [{"name": "a", "host": "a", "gpus": 1, "cpus": 4, "memory": "16g", "data_cache": {"path": "/scratch/p", "max_bytes": "8GB"}}]}"#
            .write(toFile: dir + "/inventory.json", atomically: true, encoding: .utf8)
        try """
        {"sweep": "s", "agent": {"name": "a", "image": "i"}, "competitions": ["aptos2019-blindness-detection", "aerial-cactus-identification"],
         "budgets": ["1h"], "hardware": [{"name": "g", "gpus": 1, "cpus": 1, "memory": "1g"}],
         "inventory": "inventory.json", "mlebench_dir": "\(shared)", "data_dir": "\(dir)"}
        """.write(toFile: dir + "/sweep.json", atomically: true, encoding: .utf8)
        let setup = try SweepSetup.load(configPath: dir + "/sweep.json", overrides: SweepOverrides())
        let findings = Preflight.run(setup, localWorker: ["true"], probeNodes: false, environment: [:])
        XCTAssertTrue(findings.contains { $0.level == .error && $0.message.contains("aptos2019-blindness-detection's public data is 10") && $0.message.contains("holds 8 GB") }, "\(findings)")
        XCTAssertFalse(findings.contains { $0.message.contains("aerial-cactus-identification's public data") })
        XCTAssertFalse(findings.contains { $0.message.contains("not built yet") }, "lazy staging is what `podium sweep` does now")
    }
}
