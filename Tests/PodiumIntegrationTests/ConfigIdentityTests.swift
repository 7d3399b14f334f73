import XCTest
import PodiumCore
import PodiumStore
@testable import PodiumCoordinator
import PodiumSystem

/// A sweep's configuration is its identity, through the real CLI, a real worker and real containers: a resumed sweep
/// whose agent image changed is refused with the diff and its results keep their provenance; accepted explicitly, the
/// change is a second configuration version whose runs are runs of their own, reported apart unless pooled.
final class ConfigIdentityTests: XCTestCase {
    func podium() throws -> String {
        let p = directoryOf(workerBinary) + "/podium"
        guard FileManager.default.isExecutableFile(atPath: p) else { throw XCTSkip("podium not built at \(p)") }
        return p
    }

    /// Runs the CLI; stdout and stderr together.
    func cli(_ args: [String], in dir: String, timeout: Double = 240) throws -> (code: Int32, out: String) {
        let log = dir + "/cli-\(UInt64(monotonicSeconds() * 1e6)).log"
        let child = try ChildProcess(arguments: ["/bin/sh", "-c", "exec \"$0\" \"$@\" > '\(log)' 2>&1"] + args, stdinPipe: false,
                                     stdoutPipe: false)
        let code = child.wait(timeout: timeout)
        return (code, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }

    func writeSweep(_ dir: String, image: String) throws {
        try #"{"nodes": [{"name": "local", "transport": "local", "cpus": 2, "memory": "8g"}]}"#
            .write(toFile: dir + "/inventory.json", atomically: true, encoding: .utf8)
        try """
        {"sweep": "ident", "agent": {"name": "agent", "image": "\(image)", "env": {"AGENT_ROUND_SECS": "0.2"}},
         "competitions": ["wine-cultivar"], "attempts": 2, "budgets": ["6s"],
         "hardware": [{"name": "cpu", "cpus": 1, "memory": "512m"}], "snapshot_interval": "3s", "grace_period": "3s",
         "inventory": "inventory.json", "mlebench_dir": "\(repoRoot)/benchmark/mini", "data_dir": "\(repoRoot)/benchmark/mini-data",
         "state": "state/state.sqlite"}
        """.write(toFile: dir + "/sweep.json", atomically: true, encoding: .utf8)
    }

    func testChangedImageIsRefusedWithADiffAndAcceptedAsASecondVersionReportedApart() throws {
        let dummy = "podium/dummy-agent:0.1"
        _ = try requireDocker(images: [baselineImage, dummy])
        let podium = try podium()
        let dir = makeTempDir("identity")
        defer { killDaemon(dir + "/state/worker-local"); try? FileManager.default.removeItem(atPath: dir) }
        try writeSweep(dir, image: baselineImage)
        let config = dir + "/sweep.json"
        let first = try cli([podium, "sweep", config, "--quiet"], in: dir)
        XCTAssertEqual(first.code, 0, first.out)
        func report(_ extra: [String] = []) throws -> [String: Any] {
            let r = try cli([podium, "report", config, "--format", "json"] + extra, in: dir)
            XCTAssertEqual(r.code, 0, r.out)
            let line = r.out.split(separator: "\n").last { $0.hasPrefix("{") }.map(String.init) ?? "{}"
            return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
        func images(_ report: [String: Any]) -> [String] {
            ((report["runs"] as? [[String: Any]]) ?? []).compactMap { ($0["provenance"] as? [String: Any])?["image"] as? String }.sorted()
        }
        // Each node's state, with since and reason (null while up).
        let status = try cli([podium, "status", config, "--format", "json"], in: dir)
        let statusLine = status.out.split(separator: "\n").last { $0.hasPrefix("{") }.map(String.init) ?? "{}"
        let nodeStates = (try JSONSerialization.jsonObject(with: Data(statusLine.utf8)) as? [String: Any])?["node_states"] as? [[String: Any]]
        XCTAssertEqual(nodeStates?.count, 1, status.out)
        XCTAssertEqual(nodeStates?.first?["node"] as? String, "local")
        XCTAssertEqual(nodeStates?.first?["up"] as? Bool, true)
        XCTAssertNotNil(nodeStates?.first?["since"] as? Double)
        XCTAssertTrue(nodeStates?.first?.keys.contains("reason") ?? false, "reason is written, null while up")
        let before = try report()
        XCTAssertEqual(images(before), [baselineImage, baselineImage])

        // Only the image changes: refused, exit 2, the diff names agent.image with both values; nothing is relabelled.
        try writeSweep(dir, image: dummy)
        let refused = try cli([podium, "sweep", config, "--quiet"], in: dir)
        XCTAssertEqual(refused.code, 2, refused.out)
        XCTAssertTrue(refused.out.contains("agent.image: \"\(baselineImage)\" → \"\(dummy)\""), refused.out)
        XCTAssertTrue(refused.out.contains("--accept-config-change"), refused.out)
        XCTAssertFalse(refused.out.contains("agent.env"), "only what changed is listed: \(refused.out)")
        XCTAssertEqual(images(try report()), [baselineImage, baselineImage], "the report's provenance is unchanged")
        let store = try StateStore(path: dir + "/state/state.sqlite")
        XCTAssertEqual(try store.configVersions(sweep: "ident").count, 1)

        // Accepted explicitly: version 2 runs the grid as runs of its own; the report keeps the versions apart.
        let accepted = try cli([podium, "sweep", config, "--quiet", "--accept-config-change"], in: dir)
        XCTAssertEqual(accepted.code, 0, accepted.out)
        XCTAssertTrue(accepted.out.contains("configuration version 2"), accepted.out)
        let runs = try store.runs(sweep: "ident")
        XCTAssertEqual(runs.count, 4)
        XCTAssertEqual(runs.filter { $0.spec.configVersion == 2 }.count, 2)
        XCTAssertTrue(runs.allSatisfy { $0.state == .completed }, "\(runs.map(\.state))")
        let attempts = try store.attempts(sweep: "ident")
        XCTAssertEqual(Dictionary(grouping: attempts, by: { $0.configVersion ?? 0 }).mapValues(\.count), [1: 2, 2: 2],
                       "each attempt recorded the version it ran")
        XCTAssertTrue(attempts.allSatisfy { $0.podiumVersion == podiumVersion })
        let after = try report()
        XCTAssertEqual(images(after), [baselineImage, baselineImage, dummy, dummy], "each run's image is the one its version ran")
        let groups = (after["groups"] as? [[String: Any]]) ?? []
        XCTAssertEqual(groups.compactMap { $0["config_version"] as? Int }, [1, 2], "two versions, not pooled")
        let pooled = (try report(["--pool"])["groups"] as? [[String: Any]]) ?? []
        XCTAssertEqual(pooled.count, 1, "--pool pools them")
        XCTAssertNil(pooled.first?["config_version"])
        let text = try cli([podium, "report", config], in: dir)
        XCTAssertTrue(text.out.contains("configuration versions v1, v2 reported apart"), text.out)
        // A version-1 run retried would run version 2's agent under version 1's name: refused, naming its counterpart.
        let v1 = try XCTUnwrap(runs.first { $0.spec.configVersion == 1 })
        let retry = try cli([podium, "retry", config, v1.spec.label], in: dir)
        XCTAssertEqual(retry.code, 2, retry.out)
        XCTAssertTrue(retry.out.contains(v1.spec.inVersion(2).label), retry.out)
    }

    func testABudgetWithoutAUnitIsRefused() throws {
        let podium = try podium()
        let dir = makeTempDir("budget-unit")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writeSweep(dir, image: baselineImage)
        let text = try String(contentsOfFile: dir + "/sweep.json", encoding: .utf8).replacingOccurrences(of: #"["6s"]"#, with: #"["24"]"#)
        try text.write(toFile: dir + "/sweep.json", atomically: true, encoding: .utf8)
        let r = try cli([podium, "plan", dir + "/sweep.json"], in: dir)
        XCTAssertEqual(r.code, 2, r.out)
        XCTAssertTrue(r.out.contains("$.budgets[0]") && r.out.contains("\"24h\""), r.out)
        try writeSweep(dir, image: baselineImage)
        let flag = try cli([podium, "plan", dir + "/sweep.json", "--budgets", "24"], in: dir)
        XCTAssertEqual(flag.code, 2, flag.out)
    }
}
