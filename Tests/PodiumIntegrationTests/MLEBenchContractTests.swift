import XCTest
import PodiumCore
import PodiumStore
@testable import PodiumCoordinator
import PodiumSystem
import PodiumWorker

let mlebenchTestImage = "podium/mlebench-test:0.1"

/// MLE-bench's own agent contract on a real dockerd: an image laid out like mlebench-env (root entrypoint that must not
/// run, user nonroot, /home/agent/start.sh), its agent config in MLE-bench's YAML format, a secret, and /validate
/// answered by the coordinator while the answers stay on it.
final class MLEBenchContractTests: XCTestCase {
    func writeSweep(_ dir: String, agent: String, maxInfraRetries: Int = 3) throws -> String {
        try #"{"nodes": [{"name": "local", "transport": "local", "cpus": 2, "memory": "4g", "work_dir": "\#(dir)/work"}]}"#
            .write(toFile: dir + "/inventory.json", atomically: true, encoding: .utf8)
        try """
        {"sweep": "it-mlebench", "agent": \(agent),
         "competitions": ["wine-cultivar"], "attempts": 1, "budgets": ["60s"],
         "hardware": [{"name": "cpu", "cpus": 1, "memory": "512m"}], "snapshot_interval": "5s", "grace_period": "3s",
         "max_infra_retries": \(maxInfraRetries),
         "inventory": "inventory.json", "mlebench_dir": "\(repoRoot)/benchmark/mini", "data_dir": "\(repoRoot)/benchmark/mini-data",
         "state": "state/state.sqlite"}
        """.write(toFile: dir + "/sweep.json", atomically: true, encoding: .utf8)
        return dir + "/sweep.json"
    }

    func run(_ path: String) throws -> (SweepRunner.Outcome, StateStore, SweepSetup) {
        let setup = try SweepSetup.load(configPath: path, overrides: SweepOverrides())
        try setup.checkSecrets()
        try FileManager.default.createDirectory(atPath: directoryOf(setup.config.state), withIntermediateDirectories: true)
        let store = try StateStore(path: setup.config.state)
        var options = SweepRunner.Options(workerCommand: [workerBinary])
        options.progress = false
        options.retryBackoff = 0.5
        return (try SweepRunner(setup: setup, store: store, options: options).run(), store, setup)
    }

    func testStartScriptRunsAsNonrootWithKwargsSecretAndCentralValidation() throws {
        _ = try requireDocker(images: [mlebenchTestImage])
        let dir = makeTempDir("mlebench")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let secret = "sk-podium-test-\(UUID().uuidString.prefix(12))"
        let path = try writeSweep(dir, agent: #"{"mlebench": "mlebench-test", "image": "\#(mlebenchTestImage)"}"#)

        // Without the secret: refused before anything runs, naming the agent and the variable.
        unsetenv("PODIUM_TEST_API_KEY")
        XCTAssertThrowsError(try SweepSetup.load(configPath: path, overrides: SweepOverrides()).checkSecrets()) { e in
            XCTAssertTrue("\(e)".contains("PODIUM_TEST_API_KEY") && "\(e)".contains("mlebench-test"), "\(e)")
        }
        setenv("PODIUM_TEST_API_KEY", secret, 1)
        defer { unsetenv("PODIUM_TEST_API_KEY") }

        let (outcome, store, setup) = try run(path)
        XCTAssertEqual(outcome.counts[.completed], 1, "\(outcome.counts)")
        XCTAssertTrue(setup.agentWarnings.first?.contains("TIME_LIMIT_SECS=7200") == true, "the config's 2 h limit is called out: \(setup.agentWarnings)")
        let run = try XCTUnwrap(try store.runs(sweep: "it-mlebench").first)
        let artifacts = try store.artifacts(runID: run.id, epoch: run.epoch)
        func artifact(_ name: String) throws -> String {
            let a = try XCTUnwrap(artifacts.first { $0.name == name }, "no \(name) among \(artifacts.map(\.name))")
            return try String(contentsOfFile: a.path, encoding: .utf8)
        }
        let log = try artifact("agent.log")
        let lines = Dictionary(log.split(separator: "\n").compactMap { l -> (String, String)? in
            guard let eq = l.firstIndex(of: "=") else { return nil }
            return (String(l[..<eq]), String(l[l.index(after: eq)...]))
        }, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(lines["user"], "nonroot uid=1000", log)
        XCTAssertEqual(lines["args"], "agent.steps=3 agent.time_limit=7200 copy_data=False", "omegaconf kwargs, in the config's order")
        XCTAssertEqual(lines["competition"], "wine-cultivar")
        XCTAssertEqual(lines["time_limit"], "60", "TIME_LIMIT_SECS is the run's budget, not the config's 7200")
        XCTAssertEqual(lines["step_limit"], "3")
        XCTAssertEqual(lines["secret_sha256"], SHA256.hex(secret), "the secret resolved by name from the coordinator's environment")
        XCTAssertFalse(log.contains(secret), "the secret's value never reaches a log")
        XCTAssertEqual(lines["private"], "absent")
        XCTAssertEqual(lines["data_writable"], "no", "/home/data stays read-only")
        XCTAssertEqual(lines["health"], #"{"status":"running"}"#)
        XCTAssertTrue(lines["first"]?.hasPrefix(#"{"result":"Submission invalid! The attempt to grade the submission has resulted in the following error message:\n"#) == true,
                      lines["first"] ?? log)
        XCTAssertEqual(lines["second"], #"{"result":"Submission is valid."}"#)
        XCTAssertFalse(log.contains("mlebench-env entrypoint ran"), "the image's own entrypoint (which needs the answers) never runs")

        // The root steps of MLE-bench's entrypoint ran and logged.
        XCTAssertTrue(try artifact("logs/entrypoint.log").contains("podium: MLE-bench container contract"))
        // Nothing the agent could see is the answers file.
        let visible = try artifact("logs/visible-files.sha256")
        let answers = try XCTUnwrap(SHA256.hex(fileAt: setup.answersPath("wine-cultivar")))
        let sample = try XCTUnwrap(SHA256.hex(fileAt: setup.publicDataDir("wine-cultivar") + "/sample_submission.csv"))
        XCTAssertTrue(visible.contains(sample), "the scan saw the public data (so it would have seen the answers)")
        XCTAssertFalse(visible.contains(answers), "the answers are nowhere in the container")

        // Each validation recorded with its verdict; the report shows them per run.
        let validations = try store.validations(sweep: "it-mlebench")
        XCTAssertEqual(validations.map(\.valid), [false, true])
        XCTAssertEqual(validations.map(\.status), [200, 200])
        XCTAssertTrue(validations.allSatisfy { $0.runID == run.id && $0.epoch == run.epoch && $0.bytes > 0 })
        let (_, results, _) = try SweepResults.collect(store: store, sweep: "it-mlebench")
        XCTAssertEqual(results.first?.validSubmission, true)
        XCTAssertTrue(try store.attempts(runID: run.id).allSatisfy { $0.outcome == .completed })

        // A person browsing runs/ finds what each directory is (issue 21).
        let info = try JSONDecoder().decode(AttemptStorage.RunInfo.self, from: try Data(contentsOf: URL(fileURLWithPath: dir + "/state/runs/it-mlebench/\(run.id)/run.json")))
        XCTAssertEqual(info.label, "wine-cultivar/1m/cpu/a1")
        XCTAssertEqual(info.epochs, [.init(epoch: 1, node: "local")])
        XCTAssertEqual(info.budget_seconds, 60)

        // Provenance: the agent and its config digest, the image that ran, budget, hardware, node, version, grader.
        let p = try XCTUnwrap(try SweepResults.provenance(store: store, sweep: "it-mlebench")[run.id])
        XCTAssertEqual(p.agent, "mlebench-test")
        XCTAssertEqual(p.agentSource, "mlebench")
        XCTAssertEqual(p.agentConfigSHA256, setup.mlebenchAgent?.configSHA256)
        XCTAssertEqual(p.imageDigest, try DockerEngine().imageID(mlebenchTestImage))
        XCTAssertEqual(p.budgetSeconds, 60)
        XCTAssertEqual(p.node, "local")
        XCTAssertEqual(p.cpus, 1)
        XCTAssertEqual(p.memoryBytes, 512 << 20)
        XCTAssertEqual(p.podiumVersion, podiumVersion)
        XCTAssertTrue(p.graderEngine?.hasPrefix("native:") == true, "\(String(describing: p.graderEngine))")
        let exported = try SweepResults.exportGradingReports(store: store, sweep: "it-mlebench", directory: dir + "/reports")
        let report = try String(contentsOfFile: try XCTUnwrap(exported.first), encoding: .utf8)
        XCTAssertTrue(report.contains("\"provenance\"") && report.contains(p.imageDigest ?? "?"), report)
    }

    /// A setup failure (the image has no `nonroot` user) is the node's problem, not the agent's: an infra error with the
    /// reason, never a graded agent failure.
    func testContractSetupFailureIsInfra() throws {
        _ = try requireDocker(images: [testImage])
        let dir = makeTempDir("mlebench-bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = try writeSweep(dir, agent: #"{"mlebench": "mlebench-test/argparse", "image": "\#(testImage)"}"#, maxInfraRetries: 0)
        let (outcome, store, _) = try run(path)
        XCTAssertEqual(outcome.counts[.failed], 1, "\(outcome.counts)")
        let run = try XCTUnwrap(try store.runs(sweep: "it-mlebench").first)
        let attempt = try XCTUnwrap(try store.attempts(runID: run.id).first)
        XCTAssertEqual(attempt.outcome, .infraError)
        XCTAssertTrue(attempt.message?.contains("MLE-bench contract setup") == true, attempt.message ?? "no message")
    }
}

/// Issue 21: an agent image absent from a node was found only when a run started there (then retried 3 times).
final class PreflightImageTests: XCTestCase {
    func testMissingImageOnTheLocalNodeStopsThePreflight() throws {
        _ = try requireDocker(images: [testImage])
        let dir = makeTempDir("preflight-image")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try #"{"nodes": [{"name": "local", "transport": "local", "cpus": 1, "memory": "1g"}]}"#
            .write(toFile: dir + "/inventory.json", atomically: true, encoding: .utf8)
        func setup(image: String) throws -> SweepSetup {
            try """
            {"sweep": "s", "agent": {"name": "a", "image": "\(image)"}, "competitions": ["wine-cultivar"], "budgets": ["60s"],
             "hardware": [{"name": "cpu", "cpus": 1, "memory": "512m"}], "inventory": "inventory.json",
             "mlebench_dir": "\(repoRoot)/benchmark/mini", "data_dir": "\(repoRoot)/benchmark/mini-data", "state": "state.sqlite"}
            """.write(toFile: dir + "/sweep.json", atomically: true, encoding: .utf8)
            return try SweepSetup.load(configPath: dir + "/sweep.json", overrides: SweepOverrides())
        }
        let missing = Preflight.run(try setup(image: "podium/not-built:0.0"), localWorker: [workerBinary])
        XCTAssertEqual(missing.filter { $0.level == .error }.count, 1, "\(missing)")
        XCTAssertTrue(missing.contains { $0.level == .error && $0.message.contains("podium/not-built:0.0") && $0.message.contains("push-image") }, "\(missing)")
        let present = Preflight.run(try setup(image: testImage), localWorker: [workerBinary])
        XCTAssertTrue(present.filter { $0.level == .error }.isEmpty, "\(present)")
    }
}
