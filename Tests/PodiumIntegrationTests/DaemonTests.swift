import XCTest
import PodiumCore
import PodiumProtocol
import PodiumStore
@testable import PodiumCoordinator
#if canImport(Glibc)
import Glibc
#endif
import PodiumSystem

/// The worker daemon outlives its connections and its own crashes; the coordinator outlives its own.
final class DaemonTests: XCTestCase {
    func attach(_ workDir: String, runtime: String = "docker") throws -> (ChildProcess, FrameWriter, FrameReader) {
        let child = try ChildProcess(arguments: [workerBinary, "attach", "--node", "dnode", "--work-dir", workDir, "--cpus", "4",
                                                 "--memory", "4g", "--runtime", runtime], stderr: .file(workDir + "-attach.log"))
        let w = FrameWriter(fd: child.stdinFD), r = FrameReader(fd: child.stdoutFD)
        try w.send(Request.hello(protocolVersion: podiumProtocolVersion, coordinator: "test"))
        guard case .welcome = try r.next(Reply.self) else { throw XCTSkip("no welcome from the daemon") }
        return (child, w, r)
    }

    func daemonPID(_ workDir: String) -> pid_t? {
        (try? String(contentsOfFile: workDir + "/daemon.pid", encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    func stopDaemon(_ workDir: String) {
        if let pid = daemonPID(workDir) { kill(pid, SIGKILL) }
        _ = ChildProcess.capture(["sh", "-c", "docker rm -f $(docker ps -aq --filter label=podium.node=dnode) 2>/dev/null"])
    }

    func testDaemonKilledMidRunIsTakenOverAndKeepsTheBudget() throws {
        _ = try requireDocker()
        let dir = makeTempDir("daemon")
        let work = dir + "/work"
        try FileManager.default.createDirectory(atPath: dir + "/data", withIntermediateDirectories: true)
        defer { stopDaemon(work); try? FileManager.default.removeItem(atPath: dir) }
        let (c1, w1, r1) = try attach(work)
        let req = StartRequest(runID: "rd1", epoch: 1, sweep: "it", competition: "c", image: testImage,
                               command: ["/bin/sh", "-c", "echo before; echo 'id,y' > /home/submission/submission.csv; sleep 2; echo after; sleep 600"],
                               env: [:], dataDir: dir + "/data", budgetSeconds: 6, graceSeconds: 2, snapshotIntervalSeconds: 60,
                               cpus: 1, memoryBytes: 128 << 20, shmBytes: 16 << 20, gpus: 0, network: false)
        let started = monotonicSeconds()
        try w1.send(Request.start(req))
        guard case .started = try r1.next(Reply.self) else { return XCTFail("not started") }
        sleepSeconds(1)
        let first = try XCTUnwrap(daemonPID(work))
        kill(first, SIGKILL)
        c1.closeInput()
        c1.wait(timeout: 5)

        // A new attach starts a new daemon, which takes the container over.
        let (c2, w2, r2) = try attach(work)
        defer { c2.closeInput(); c2.wait(timeout: 5) }
        XCTAssertNotEqual(daemonPID(work), first)
        try w2.send(Request.list)
        var result: AttemptResult?
        while result == nil {
            switch try r2.next(Reply.self) {
            case .held(let list): XCTAssertEqual(list.map(\.runID), ["rd1"])
            case .finished(_, _, let res): result = res
            default: continue
            }
        }
        let elapsed = monotonicSeconds() - started
        XCTAssertEqual(result?.outcome, .timedOut)
        XCTAssertGreaterThanOrEqual(result?.elapsedSeconds ?? 0, 6)
        XCTAssertLessThan(elapsed, 6 + 2 + 4, "stopped at the original budget (+ grace), not a fresh one")
        let log = try String(contentsOfFile: work + "/it/rd1/e1/agent.log", encoding: .utf8)
        XCTAssertEqual(log, "before\nafter\n", "the log is byte-exact across the takeover: nothing lost, nothing twice")
        XCTAssertNotNil(result?.submissionSHA256)
    }

    func testCoordinatorKilledMidSweepResumesWithEveryRunOnce() throws {
        _ = try requireDocker(images: [baselineImage])
        let podium = directoryOf(workerBinary) + "/podium"
        guard FileManager.default.isExecutableFile(atPath: podium) else { return XCTFail("podium not built at \(podium)") }
        let dir = makeTempDir("resume")
        defer { stopDaemon(dir + "/state/worker-local"); try? FileManager.default.removeItem(atPath: dir) }
        try #"{"nodes": [{"name": "local", "transport": "local", "cpus": 4, "memory": "8g"}]}"#
            .write(toFile: dir + "/inventory.json", atomically: true, encoding: .utf8)
        try """
        {"sweep": "resume", "agent": {"name": "baseline", "image": "\(baselineImage)", "env": {"AGENT_ROUND_SECS": "0.2"}},
         "competitions": ["wine-cultivar", "handwritten-digits"], "attempts": 2, "budgets": ["10s"],
         "hardware": [{"name": "cpu", "cpus": 1, "memory": "512m"}], "snapshot_interval": "2s", "grace_period": "3s",
         "inventory": "inventory.json", "mlebench_dir": "\(repoRoot)/benchmark/mini", "data_dir": "\(repoRoot)/benchmark/mini-data",
         "state": "state/state.sqlite"}
        """.write(toFile: dir + "/sweep.json", atomically: true, encoding: .utf8)
        let first = try ChildProcess(arguments: [podium, "sweep", dir + "/sweep.json", "--quiet"], stdinPipe: false, stdoutPipe: false,
                                     stderr: .file(dir + "/first.log"))
        // Kill it once attempts are running (not at a fixed time: a loaded machine starts slower).
        let statePath = dir + "/state/state.sqlite"
        let until = monotonicSeconds() + 30
        while monotonicSeconds() < until {
            if FileManager.default.fileExists(atPath: statePath), let s = try? StateStore(path: statePath),
               let runs = try? s.runs(sweep: "resume"), runs.contains(where: { $0.state == .running }) { break }
            sleepSeconds(0.2)
        }
        sleepSeconds(1)
        kill(first.pid, SIGKILL)
        first.wait(timeout: 5)

        let setup = try SweepSetup.load(configPath: dir + "/sweep.json", overrides: SweepOverrides())
        let store = try StateStore(path: setup.config.state)
        let liveBefore = try store.runs(sweep: "resume").filter { $0.state.hasLiveAttempt }.count
        XCTAssertGreaterThan(liveBefore, 0, "the kill landed mid-sweep")
        var options = SweepRunner.Options(workerCommand: [workerBinary])
        options.progress = false
        let outcome = try SweepRunner(setup: setup, store: store, options: options).run()
        XCTAssertEqual(outcome.counts[.completed], 4, "\(outcome.counts)")
        for r in try store.runs(sweep: "resume") {
            let attempts = try store.attempts(runID: r.id)
            XCTAssertEqual(attempts.map(\.epoch), [1], "\(r.spec.label) ran exactly once: \(attempts)")
            XCTAssertEqual(attempts.first?.outcome, .completed)
            let log = try XCTUnwrap(try store.artifacts(runID: r.id, epoch: 1).first { $0.name == "agent.log" })
            XCTAssertEqual(SHA256.hex(fileAt: log.path), log.sha256, "central log = node's log")
        }
        XCTAssertEqual(try store.integrityCheck(), "ok")
    }
}
