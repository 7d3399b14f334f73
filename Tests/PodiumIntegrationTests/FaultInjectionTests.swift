import XCTest
import PodiumCore
import PodiumStore
@testable import PodiumCoordinator
import PodiumSystem

/// kill -9 of the coordinator at each step of a dispatch, during artifact copy and during grading (PODIUM_FAILPOINT
/// makes it SIGKILL itself right there), then the same command again: every run completes exactly once, never two
/// live attempts of a run at a time, each final submission graded once, logs byte-exact, the database sound.
final class FaultInjectionTests: XCTestCase {
    func runScenario(_ failpoint: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let podium = directoryOf(workerBinary) + "/podium"
        guard FileManager.default.isExecutableFile(atPath: podium) else { throw XCTSkip("podium not built at \(podium)") }
        let dir = makeTempDir("fp-\(failpoint)")
        defer { killDaemon(dir + "/state/worker-n"); try? FileManager.default.removeItem(atPath: dir) }
        try #"{"nodes": [{"name": "n", "transport": "local", "runtime": "process", "cpus": 2, "memory": "4g"}]}"#
            .write(toFile: dir + "/inventory.json", atomically: true, encoding: .utf8)
        let agent = #"echo "seed $AGENT_SEED"; sleep 1; cp "$DATA_DIR/sample_submission.csv" "$SUBMISSION_DIR/submission.csv""#
        try """
        {"sweep": "fp", "agent": {"name": "quick", "image": "none", "command": ["/bin/sh", "-c", \(String(reflecting: agent))]},
         "competitions": ["wine-cultivar", "breast-cancer-diagnosis"], "attempts": 2, "budgets": ["60s"],
         "hardware": [{"name": "cpu", "cpus": 1, "memory": "1g"}], "inventory": "inventory.json",
         "mlebench_dir": "\(repoRoot)/benchmark/mini", "data_dir": "\(repoRoot)/benchmark/mini-data", "state": "state/state.sqlite"}
        """.write(toFile: dir + "/sweep.json", atomically: true, encoding: .utf8)
        var env = ProcessInfo.processInfo.environment
        env["PODIUM_FAILPOINT"] = failpoint
        let first = try ChildProcess(arguments: [podium, "sweep", dir + "/sweep.json", "--quiet"], environment: env, stdinPipe: false,
                                     stdoutPipe: false, stderr: .file(dir + "/first.log"))
        let code = first.wait(timeout: 120)
        XCTAssertEqual(code, 128 + SIGKILL, "the coordinator died at \(failpoint): \((try? String(contentsOfFile: dir + "/first.log", encoding: .utf8)) ?? "")",
                       file: file, line: line)
        let again = ChildProcess.capture([podium, "sweep", dir + "/sweep.json", "--quiet"], timeout: 180)
        XCTAssertEqual(again?.code, 0, file: file, line: line)
        let store = try StateStore(path: dir + "/state/state.sqlite")
        let runs = try store.runs(sweep: "fp")
        XCTAssertEqual(runs.count, 4, file: file, line: line)
        let grades = try store.grades(sweep: "fp")
        for r in runs {
            XCTAssertEqual(r.state, .completed, "\(failpoint): \(r.spec.label)", file: file, line: line)
            let attempts = try store.attempts(runID: r.id)
            XCTAssertEqual(attempts.filter { $0.outcome == .completed }.count, 1, "\(failpoint): \(r.spec.label) completed once: \(attempts)", file: file, line: line)
            XCTAssertEqual(attempts.map(\.epoch), Array(1...attempts.count), "epochs rise one by one", file: file, line: line)
            XCTAssertTrue(attempts.dropLast().allSatisfy { $0.outcome == .lost || $0.outcome == .infraError },
                          "earlier attempts were fenced as lost, never left live: \(attempts)", file: file, line: line)
            XCTAssertEqual(grades.filter { $0.runID == r.id && $0.isFinal }.count, 1, "\(failpoint): final graded once", file: file, line: line)
            let log = try XCTUnwrap(try store.artifacts(runID: r.id, epoch: r.epoch).first { $0.name == "agent.log" }, file: file, line: line)
            XCTAssertEqual(SHA256.hex(fileAt: log.path), log.sha256, "central log = node's", file: file, line: line)
            XCTAssertTrue((try String(contentsOfFile: log.path, encoding: .utf8)).hasPrefix("seed \(r.spec.attempt)"), file: file, line: line)
        }
        XCTAssertEqual(try store.integrityCheck(), "ok", file: file, line: line)
    }

    func testKillBeforeTheDispatchCommit() throws { try runScenario("dispatch-before-commit") }
    func testKillBetweenCommitAndStart() throws { try runScenario("dispatch-after-commit") }
    func testKillRightAfterTheStartRequest() throws { try runScenario("dispatch-after-send") }
    func testKillDuringArtifactCopy() throws { try runScenario("artifact-copy") }
    func testKillDuringGrading() throws { try runScenario("grading") }
}
