import XCTest
import PodiumCore
import PodiumProtocol
@testable import PodiumWorker
import PodiumSystem

/// The process runtime (machines without Docker) with real child processes; GPUs here are declared stand-in slots.
final class ProcessRuntimeTests: XCTestCase {
    var dir: String!

    override func setUp() {
        dir = makeTempDir("proc")
        try? FileManager.default.createDirectory(atPath: dir + "/data", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: dir + "/data/sample_submission.csv", contents: Data("id,y\n1,0\n".utf8))
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func attempt(_ script: String, budget: Int = 20, grace: Int = 2, gpus: [GPUDevice] = []) -> (AttemptResult, AttemptLayout) {
        let req = StartRequest(runID: "p1", epoch: 1, sweep: "it", competition: "comp", image: "", command: ["/bin/sh", "-c", script],
                               env: ["EXTRA": "x"], dataDir: dir + "/data", budgetSeconds: budget, graceSeconds: grace,
                               snapshotIntervalSeconds: 60, cpus: 1, memoryBytes: 1 << 30, shmBytes: 0, gpus: gpus.count, network: false)
        let layout = AttemptLayout(workDir: dir + "/work", sweep: "it", runID: "p1", epoch: 1)
        let sup = RunSupervisor(request: req, layout: layout, runtime: ProcessRuntime(), labels: ["podium.attempt": "3"], gpus: gpus) { _ in }
        return (sup.run(), layout)
    }

    func testContractThroughEnvironment() throws {
        let (r, layout) = attempt("""
            echo "c=$COMPETITION_ID t=$TIME_LIMIT_SECS seed=$AGENT_SEED extra=$EXTRA gpus=$PODIUM_GPUS cuda=[$CUDA_VISIBLE_DEVICES] pwd=$(pwd)"
            cp "$DATA_DIR/sample_submission.csv" "$SUBMISSION_DIR/submission.csv"; echo err >&2; exit 0
            """, gpus: GPUInventory.resolve(declared: 1, discovered: []))
        XCTAssertEqual(r.outcome, .completed, r.message ?? "")
        let log = try String(contentsOfFile: layout.agentLog, encoding: .utf8)
        XCTAssertTrue(log.contains("c=comp t=20 seed=3 extra=x gpus=stand-in-slot-0 cuda=[]"), log)
        XCTAssertTrue(log.contains("pwd=\(layout.codeDir)"), log)
        XCTAssertTrue(log.contains("err"), "stderr is captured with stdout")
        XCTAssertEqual(r.gpus, ["stand-in-slot-0"])
        XCTAssertNotNil(r.submissionSHA256)
    }

    func testBudgetStopsTheWholeProcessGroup() throws {
        let marker = dir + "/grandchild-alive"
        let (r, _) = attempt("(sleep 4; touch \(marker)) & trap '' TERM; while true; do sleep 1; done", budget: 1, grace: 1)
        XCTAssertEqual(r.outcome, .timedOut)
        XCTAssertTrue(r.message?.contains("SIGKILL") ?? false, r.message ?? "")
        sleepSeconds(4.5)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "a process the agent started was left running")
    }

    func testExitCodesAndMissingCommand() {
        XCTAssertEqual(attempt("exit 7").0.exitCode, 7)
        XCTAssertEqual(attempt("exit 7").0.outcome, .agentError)
        XCTAssertEqual(attempt("kill -9 $$").0.exitCode, 137)
        let (r, _) = attempt("true", gpus: [])
        XCTAssertEqual(r.outcome, .completed)
    }

    func testGPUParsingAndPool() {
        let gpus = GPUInventory.parse("0, GPU-aaa, NVIDIA H100 80GB HBM3, 81559\n1, GPU-bbb, NVIDIA H100 80GB HBM3, 81559\n")
        XCTAssertEqual(gpus.map(\.uuid), ["GPU-aaa", "GPU-bbb"])
        XCTAssertEqual(gpus[0].memoryMiB, 81559)
        XCTAssertFalse(gpus[0].standIn)
        let pool = GPUPool(devices: gpus)
        XCTAssertEqual(pool.acquire(1, for: "r1")?.map(\.uuid), ["GPU-aaa"])
        XCTAssertNil(pool.acquire(2, for: "r2"), "only one is free")
        XCTAssertEqual(pool.acquire(1, for: "r2")?.map(\.uuid), ["GPU-bbb"])
        pool.release(owner: "r1")
        XCTAssertEqual(pool.acquire(1, for: "r3")?.map(\.uuid), ["GPU-aaa"])
        XCTAssertEqual(GPUInventory.resolve(declared: 2, discovered: []).map(\.standIn), [true, true])
        XCTAssertEqual(GPUInventory.resolve(declared: 2, discovered: gpus).count, 2)
    }

    /// `podium-worker run` prints the agent's log as it runs, then one JSON result (the log reaches stdout from the
    /// file the supervisor writes).
    func testForegroundRunPrintsTheLogThenTheResult() throws {
        let r = try XCTUnwrap(ChildProcess.capture([workerBinary, "run", "--runtime", "process", "--image", "none",
                                                    "--data-dir", dir + "/data", "--budget", "20s", "--output-dir", dir + "/out",
                                                    "--", "/bin/sh", "-c", "seq 1 20000; sleep 0.2; echo last-line"]))
        XCTAssertEqual(r.code, 0)
        let expected = (1...20000).map { "\($0)\n" }.joined() + "last-line\n"
        XCTAssertTrue(r.output.hasPrefix(expected), "the whole log, in order, before the result")
        let json = try XCTUnwrap(r.output.split(separator: "\n").last)
        let result = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        XCTAssertEqual(result?["outcome"] as? String, "completed")
        XCTAssertEqual(result?["log_bytes"] as? Int, expected.utf8.count)
    }
}
