import XCTest
import PodiumCore
import PodiumStore
@testable import PodiumCoordinator
import PodiumSystem

/// The walking skeleton end to end: config → local worker child → real containers → central grading → results.
final class SweepTests: XCTestCase {
    func writeSweep(_ dir: String, attempts: Int = 2, budget: String = "8s") throws -> String {
        let inventory = """
        {"nodes": [{"name": "local", "transport": "local", "cpus": 4, "memory": "8g"}]}
        """
        let sweep = """
        {"sweep": "it-sweep",
         "agent": {"name": "baseline", "image": "\(baselineImage)", "env": {"AGENT_ROUND_SECS": "0.2"}},
         "competitions": ["wine-cultivar", "breast-cancer-diagnosis"], "attempts": \(attempts), "budgets": ["\(budget)"],
         "hardware": [{"name": "cpu", "cpus": 1, "memory": "512m"}], "snapshot_interval": "2s", "grace_period": "3s",
         "inventory": "inventory.json", "mlebench_dir": "\(repoRoot)/benchmark/mini", "data_dir": "\(repoRoot)/benchmark/mini-data",
         "state": "state/state.sqlite"}
        """
        try inventory.write(toFile: dir + "/inventory.json", atomically: true, encoding: .utf8)
        try sweep.write(toFile: dir + "/sweep.json", atomically: true, encoding: .utf8)
        return dir + "/sweep.json"
    }

    func runSweep(_ path: String) throws -> (SweepRunner.Outcome, StateStore, SweepSetup) {
        let setup = try SweepSetup.load(configPath: path, overrides: SweepOverrides())
        try setup.checkPreparedData()
        try FileManager.default.createDirectory(atPath: directoryOf(setup.config.state), withIntermediateDirectories: true)
        let store = try StateStore(path: setup.config.state)
        var options = SweepRunner.Options(workerCommand: [workerBinary])
        options.progress = false
        options.retryBackoff = 0.5
        let outcome = try SweepRunner(setup: setup, store: store, options: options).run()
        return (outcome, store, setup)
    }

    func testSmallGridCompletesGradedAndResumesIdempotently() throws {
        _ = try requireDocker(images: [baselineImage])
        guard FileManager.default.isExecutableFile(atPath: workerBinary) else {
            return XCTFail("podium-worker not built at \(workerBinary) (swift build first, or set PODIUM_WORKER_BIN)")
        }
        let dir = makeTempDir("sweep")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = try writeSweep(dir)
        let (outcome, store, setup) = try runSweep(path)
        XCTAssertFalse(outcome.interrupted)
        XCTAssertEqual(outcome.counts[.completed], 4, "\(outcome.counts)")

        let (runs, results, grades) = try SweepResults.collect(store: store, sweep: "it-sweep")
        XCTAssertEqual(runs.count, 4)
        XCTAssertTrue(results.allSatisfy { $0.graded && $0.validSubmission && $0.score != nil }, "\(results)")
        XCTAssertTrue(grades.contains { !$0.isFinal }, "snapshots are graded too")
        XCTAssertEqual(Set(grades.map { "\($0.runID)#\($0.artifact)" }).count, grades.count, "each artifact graded once")
        for r in runs {
            XCTAssertEqual(r.epoch, 1)
            let attempts = try store.attempts(runID: r.id)
            XCTAssertEqual(attempts.count, 1)
            XCTAssertEqual(attempts[0].outcome, .completed)
            // The central log equals the node's file (its sha256 came with the artifacts) byte for byte.
            let artifacts = try store.artifacts(runID: r.id, epoch: 1)
            let log = try XCTUnwrap(artifacts.first { $0.name == "agent.log" })
            XCTAssertEqual(SHA256.hex(fileAt: log.path), log.sha256)
            XCTAssertEqual(attempts[0].logBytes, log.bytes, "streamed bytes = node's log size")
            XCTAssertGreaterThan(log.bytes, 100)
        }
        XCTAssertEqual(try store.integrityCheck(), "ok")

        // Run again: nothing is dispatched twice.
        let (again, store2, _) = try runSweep(path)
        XCTAssertEqual(again.counts[.completed], 4)
        XCTAssertEqual(try store2.attempts(sweep: "it-sweep").count, 4)
        XCTAssertEqual(try store2.register(sweep: "it-sweep", configJSON: setup.configJSON, runs: setup.runs), 0)
    }

    /// Without Docker: a process-runtime node with 2 declared GPU slots; each run holds one slot, pinned by name.
    func testProcessRuntimeSweepWithDeclaredGPUSlots() throws {
        guard FileManager.default.isExecutableFile(atPath: workerBinary) else {
            return XCTFail("podium-worker not built at \(workerBinary)")
        }
        let dir = makeTempDir("procsweep")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let agent = #"echo "slot=$PODIUM_GPUS"; cp "$DATA_DIR/sample_submission.csv" "$SUBMISSION_DIR/submission.csv""#
        try #"{"nodes": [{"name": "slots", "transport": "local", "runtime": "process", "gpus": 2, "cpus": 8, "memory": "8g"}]}"#
            .write(toFile: dir + "/inventory.json", atomically: true, encoding: .utf8)
        let sweep = """
        {"sweep": "proc", "agent": {"name": "copy", "image": "none", "command": ["/bin/sh", "-c", \(String(reflecting: agent))]},
         "competitions": ["wine-cultivar", "handwritten-digits"], "attempts": 2, "budgets": ["20s"],
         "hardware": [{"name": "1gpu", "gpus": 1, "cpus": 1, "memory": "1g"}], "inventory": "inventory.json",
         "mlebench_dir": "\(repoRoot)/benchmark/mini", "data_dir": "\(repoRoot)/benchmark/mini-data", "state": "state.sqlite"}
        """
        try sweep.write(toFile: dir + "/sweep.json", atomically: true, encoding: .utf8)
        let (outcome, store, _) = try runSweep(dir + "/sweep.json")
        XCTAssertEqual(outcome.counts[.completed], 4, "\(outcome.counts)")
        let (runs, results, _) = try SweepResults.collect(store: store, sweep: "proc")
        XCTAssertTrue(results.allSatisfy { $0.graded && $0.validSubmission && !$0.anyMedal }, "the sample submission earns nothing")
        for r in runs {
            let log = try String(contentsOfFile: dir + "/runs/proc/\(r.id)/e1/agent.log", encoding: .utf8)
            XCTAssertTrue(log.hasPrefix("slot=stand-in-slot-"), log)
        }
    }

    /// Artifacts: logs/ and code/ come back with the submission, large files in verified chunks, symlinks never.
    func testArtifactsIncludeCodeAndLogsChunkedAndWithoutSymlinks() throws {
        let dir = makeTempDir("artifacts")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let agent = #"""
            cp "$DATA_DIR/sample_submission.csv" "$SUBMISSION_DIR/submission.csv"
            head -c 12000000 /dev/urandom > "$CODE_DIR/big.bin"; mkdir -p "$CODE_DIR/sub"; echo 'print(1)' > "$CODE_DIR/sub/a.py"
            ln -s /etc/passwd "$CODE_DIR/leak"; echo note > "$LOGS_DIR/notes.txt"
            """#
        try #"{"nodes": [{"name": "n", "transport": "local", "runtime": "process", "cpus": 2, "memory": "4g"}]}"#
            .write(toFile: dir + "/inventory.json", atomically: true, encoding: .utf8)
        try """
        {"sweep": "art", "agent": {"name": "files", "image": "none", "command": ["/bin/sh", "-c", \(String(decoding: try JSONEncoder().encode(agent), as: UTF8.self))]},
         "competitions": ["wine-cultivar"], "attempts": 1, "budgets": ["30s"],
         "hardware": [{"name": "cpu", "cpus": 1, "memory": "1g"}], "inventory": "inventory.json",
         "mlebench_dir": "\(repoRoot)/benchmark/mini", "data_dir": "\(repoRoot)/benchmark/mini-data", "state": "state.sqlite"}
        """.write(toFile: dir + "/sweep.json", atomically: true, encoding: .utf8)
        let (outcome, store, _) = try runSweep(dir + "/sweep.json")
        XCTAssertEqual(outcome.counts[.completed], 1)
        let run = try XCTUnwrap(try store.runs(sweep: "art").first)
        let artifacts = Dictionary(uniqueKeysWithValues: try store.artifacts(runID: run.id, epoch: 1).map { ($0.name, $0) })
        let big = try XCTUnwrap(artifacts["code/big.bin"])
        XCTAssertEqual(big.bytes, 12_000_000)
        XCTAssertEqual(SHA256.hex(fileAt: big.path), big.sha256, "chunked transfer verified end to end")
        XCTAssertNotNil(artifacts["code/sub/a.py"])
        XCTAssertNotNil(artifacts["logs/notes.txt"])
        XCTAssertNil(artifacts["code/leak"], "a symlink is never followed off the node")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/runs/art/\(run.id)/e1/code/leak"))
    }

    /// A large log is streamed while the agent runs and only its rest is sent at collection (not all of it twice);
    /// a central copy damaged meanwhile is detected by the whole-file sha256 and fetched again whole.
    func testLargeLogSentOnceAndRepairedWhenDamaged() throws {
        let dir = makeTempDir("biglog")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let agent = #"""
            head -c 8000000 /dev/urandom | base64 -w 76 | head -c 10000000; echo
            sleep 3; cp "$DATA_DIR/sample_submission.csv" "$SUBMISSION_DIR/submission.csv"
            """#
        try #"{"nodes": [{"name": "n", "transport": "local", "runtime": "process", "cpus": 2, "memory": "4g"}]}"#
            .write(toFile: dir + "/inventory.json", atomically: true, encoding: .utf8)
        try """
        {"sweep": "biglog", "agent": {"name": "chatty", "image": "none", "command": ["/bin/sh", "-c", \(String(decoding: try JSONEncoder().encode(agent), as: UTF8.self))]},
         "competitions": ["wine-cultivar"], "attempts": 2, "budgets": ["60s"],
         "hardware": [{"name": "cpu", "cpus": 1, "memory": "1g"}], "inventory": "inventory.json",
         "mlebench_dir": "\(repoRoot)/benchmark/mini", "data_dir": "\(repoRoot)/benchmark/mini-data", "state": "state.sqlite"}
        """.write(toFile: dir + "/sweep.json", atomically: true, encoding: .utf8)
        let (runner, store) = try makeRunner(dir + "/sweep.json")
        let outcome = runInBackground(runner)
        // Damage attempt 1's central copy once its whole log has streamed in (the agent is still sleeping).
        var runs = [RunRecord]()
        let registered = monotonicSeconds() + 30
        while runs.isEmpty && monotonicSeconds() < registered { runs = (try? store.runs(sweep: "biglog")) ?? []; sleepSeconds(0.05) }
        let victim = try XCTUnwrap(runs.first { $0.spec.attempt == 1 })
        let central = dir + "/runs/biglog/\(victim.id)/e1/agent.log"
        let until = monotonicSeconds() + 60
        while fileSize(central) < 10_000_001 && monotonicSeconds() < until { sleepSeconds(0.05) }
        let fd = open(central, O_WRONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        var junk: [UInt8] = Array("DAMAGED".utf8)
        _ = pwrite(fd, &junk, junk.count, 5000)
        close(fd)
        while outcome.withLock({ $0 }) == nil && monotonicSeconds() < until + 60 { sleepSeconds(0.2) }
        XCTAssertEqual(try XCTUnwrap(outcome.withLock { $0 }).get().counts[.completed], 2)
        for r in runs {
            let log = try XCTUnwrap(try store.artifacts(runID: r.id, epoch: 1).first { $0.name == "agent.log" })
            XCTAssertEqual(log.bytes, 10_000_001)
            XCTAssertEqual(SHA256.hex(fileAt: log.path), log.sha256, "central log = node's, byte for byte")
        }
        let verified = try store.events(kind: "log_verified")
        XCTAssertEqual(verified.count, 2, "\(verified)")
        // "N bytes = the node's (…); S streamed, C sent at collection"
        let sentAtCollection = verified.compactMap { e -> Int? in
            guard let r = e.range(of: " streamed, ") else { return nil }
            return Int(e[r.upperBound...].prefix { $0.isNumber })
        }.sorted()
        XCTAssertEqual(sentAtCollection.count, 2, "\(verified)")
        XCTAssertLessThan(sentAtCollection.first ?? .max, 10_000_001 / 2, "the undamaged log was not sent twice: \(verified)")
        let repaired = try store.events(kind: "log_repaired")
        XCTAssertEqual(repaired.count, 1, "the damaged copy was detected and fetched whole: \(repaired)")
        XCTAssertTrue(verified.contains { $0.contains("0 streamed, 10000001 sent at collection") }, "\(verified)")
    }

    func testCoordinatorRestartRequeuesLiveAttemptsWithNewEpoch() throws {
        _ = try requireDocker(images: [baselineImage])
        let dir = makeTempDir("restart")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = try writeSweep(dir, attempts: 1, budget: "6s")
        // Simulate a coordinator that died after committing a dispatch: the attempt is in the state, nothing runs it.
        let setup = try SweepSetup.load(configPath: path, overrides: SweepOverrides())
        try FileManager.default.createDirectory(atPath: directoryOf(setup.config.state), withIntermediateDirectories: true)
        let store = try StateStore(path: setup.config.state)
        try store.register(sweep: "it-sweep", configJSON: setup.configJSON, runs: setup.runs)
        let victim = setup.runs[0].id
        try store.apply(.dispatch(epoch: 1), to: victim, node: "local", maxInfraRetries: 3)
        try store.apply(.started, to: victim, maxInfraRetries: 3)

        let (outcome, store2, _) = try runSweep(path)
        XCTAssertEqual(outcome.counts[.completed], 2, "\(outcome.counts)")
        let attempts = try store2.attempts(runID: victim)
        XCTAssertEqual(attempts.map(\.epoch), [1, 2])
        XCTAssertEqual(attempts.map(\.outcome), [.lost, .completed], "the orphaned attempt is recorded as lost, a new epoch ran")
    }
}
