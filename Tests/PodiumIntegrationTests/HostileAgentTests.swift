import XCTest
import PodiumCore
import PodiumProtocol
import PodiumStore
@testable import PodiumCoordinator
@testable import PodiumWorker

/// An agent written to misbehave, against the Docker runtime's defaults.
final class HostileAgentTests: XCTestCase {
    func attempt(_ script: String, budget: Int = 20, pids: Int64 = 4096) throws -> (AttemptResult, String) {
        let engine = try requireDocker()
        let dir = makeTempDir("hostile")
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/public", withIntermediateDirectories: true)
        try "id,y\n".write(toFile: dir + "/public/sample_submission.csv", atomically: true, encoding: .utf8)
        var req = StartRequest(runID: "h\(UUID().uuidString.prefix(6).lowercased())", epoch: 1, sweep: "it", competition: "c", image: testImage,
                               command: ["/bin/sh", "-c", script], env: [:], dataDir: dir + "/public", budgetSeconds: budget,
                               graceSeconds: 2, snapshotIntervalSeconds: 60, cpus: 1, memoryBytes: 256 << 20, shmBytes: 16 << 20,
                               gpus: 0, network: false)
        req.pidsLimit = pids
        let layout = AttemptLayout(workDir: dir + "/work", sweep: "it", runID: req.runID, epoch: 1)
        let r = RunSupervisor(request: req, layout: layout, runtime: DockerRuntime(engine: engine), labels: [:]) { _ in }.run()
        return (r, (try? String(contentsOfFile: layout.agentLog, encoding: .utf8)) ?? "")
    }

    func testNoNetworkNoDockerSocketAndOnlyItsOwnMounts() throws {
        let (r, log) = try attempt("""
            echo "net: $(ls /sys/class/net | tr '\\n' ' ')"
            [ -e /var/run/docker.sock ] || [ -e /run/docker.sock ] && echo "SOCKET VISIBLE" || echo "no docker socket"
            echo "home: $(ls /home | tr '\\n' ' ')"; echo "data: $(ls /home/data | tr '\\n' ' ')"
            """)
        XCTAssertEqual(r.outcome, .completed)
        XCTAssertTrue(log.contains("net: lo "), "only loopback without a network: \(log)")
        XCTAssertTrue(log.contains("no docker socket"), log)
        XCTAssertTrue(log.contains("home: code data logs submission "), log)
        XCTAssertTrue(log.contains("data: sample_submission.csv "), "only the public data, never the answers: \(log)")
    }

    func testForkBombIsStoppedByThePidsLimit() throws {
        let (r, log) = try attempt("i=0; while [ $i -lt 500 ]; do sleep 60 & i=$((i+1)); done; echo \"all $i started\"; wait", pids: 32)
        XCTAssertEqual(r.outcome, .agentError, "the shell dies when the pids limit refuses a fork: \(log)")
        XCTAssertTrue(log.contains("can't fork"), log)
        XCTAssertFalse(log.contains("all 500 started"))
    }

    func testSecretsReachTheAgentButNeverTheState() throws {
        _ = try requireDocker()
        let dir = makeTempDir("secret")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let secret = "s3cr3t-\(UUID().uuidString)"
        setenv("PODIUM_TEST_SECRET", secret, 1)
        defer { unsetenv("PODIUM_TEST_SECRET") }
        try #"{"nodes": [{"name": "local", "transport": "local", "cpus": 2, "memory": "4g"}]}"#
            .write(toFile: dir + "/inventory.json", atomically: true, encoding: .utf8)
        // The agent also prints the secret — whole, and split across two writes (two pipe reads on the node).
        let agent = #"[ -n "$PODIUM_TEST_SECRET" ] && echo "secret received (${#PODIUM_TEST_SECRET} chars)"; echo "leak: $PODIUM_TEST_SECRET."; printf 'split: %s' "${PODIUM_TEST_SECRET%????????????}"; sleep 0.3; echo "${PODIUM_TEST_SECRET#${PODIUM_TEST_SECRET%????????????}}|"; cp /home/data/sample_submission.csv /home/submission/submission.csv"#
        try """
        {"sweep": "secret", "agent": {"name": "s", "image": "\(testImage)", "command": ["/bin/sh", "-c", \(String(decoding: try JSONEncoder().encode(agent), as: UTF8.self))],
           "secrets": ["PODIUM_TEST_SECRET"]},
         "competitions": ["wine-cultivar"], "attempts": 1, "budgets": ["20s"],
         "hardware": [{"name": "cpu", "cpus": 1, "memory": "256m"}], "inventory": "inventory.json",
         "mlebench_dir": "\(repoRoot)/benchmark/mini", "data_dir": "\(repoRoot)/benchmark/mini-data", "state": "state.sqlite"}
        """.write(toFile: dir + "/sweep.json", atomically: true, encoding: .utf8)
        let setup = try SweepSetup.load(configPath: dir + "/sweep.json", overrides: SweepOverrides())
        let store = try StateStore(path: setup.config.state)
        var options = SweepRunner.Options(workerCommand: [workerBinary])
        options.progress = false
        let outcome = try SweepRunner(setup: setup, store: store, options: options).run()
        XCTAssertEqual(outcome.counts[.completed], 1)
        let run = try XCTUnwrap(try store.runs(sweep: "secret").first)
        let log = try String(contentsOfFile: dir + "/runs/secret/\(run.id)/e1/agent.log", encoding: .utf8)
        XCTAssertTrue(log.contains("secret received (\(secret.count) chars)"), log)
        let stars = String(repeating: "*", count: secret.count)
        XCTAssertFalse(log.contains(secret), "the secret's value is in the collected log")
        XCTAssertFalse(log.contains(String(secret.prefix(20))), "part of the secret is in the collected log")
        XCTAssertTrue(log.contains("leak: \(stars)."), log)
        XCTAssertTrue(log.contains("split: \(stars)|"), "a secret split across two writes is masked too: \(log)")
        for file in ["state.sqlite", "state.sqlite-wal"] where FileManager.default.fileExists(atPath: dir + "/" + file) {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + file))
            XCTAssertNil(bytes.range(of: Data(secret.utf8)), "the secret's value is in \(file)")
        }
        XCTAssertTrue(try store.sweepConfigJSON("secret")?.contains("PODIUM_TEST_SECRET") ?? false, "only its name is stored")
    }

    func testSecretValuesAreNotInTheNodesAttemptRecord() throws {
        let engine = try requireDocker()
        let dir = makeTempDir("secretrecord")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/public", withIntermediateDirectories: true)
        let secret = "s3cr3t-\(UUID().uuidString)"
        let req = StartRequest(runID: "hsec", epoch: 1, sweep: "it", competition: "c", image: testImage,
                               command: ["/bin/sh", "-c", "[ ${#TOKEN} -eq \(secret.count) ] && echo ok"], env: ["TOKEN": secret, "PLAIN": "visible"],
                               secretNames: ["TOKEN"], dataDir: dir + "/public", budgetSeconds: 20, graceSeconds: 2,
                               snapshotIntervalSeconds: 60, cpus: 1, memoryBytes: 128 << 20, shmBytes: 16 << 20, gpus: 0, network: false)
        let layout = AttemptLayout(workDir: dir + "/work", sweep: "it", runID: "hsec", epoch: 1)
        let r = RunSupervisor(request: req, layout: layout, runtime: DockerRuntime(engine: engine), labels: [:]) { _ in }.run()
        XCTAssertEqual(r.outcome, .completed)
        XCTAssertEqual(try String(contentsOfFile: layout.agentLog, encoding: .utf8), "ok\n", "the agent got the secret")
        let record = try Data(contentsOf: URL(fileURLWithPath: layout.attemptFile))
        XCTAssertNil(record.range(of: Data(secret.utf8)), "attempt.json must not hold the secret's value")
        XCTAssertNotNil(record.range(of: Data("visible".utf8)), "ordinary env is recorded")
    }
}
