import XCTest
import PodiumCore
import PodiumProtocol
@testable import PodiumWorker
import PodiumSystem

/// The worker's supervision against a real dockerd and a busybox image built offline with `docker import`.
final class SupervisorTests: XCTestCase {
    var dir: String!
    var dataDir: String!

    override func setUp() {
        dir = makeTempDir("sup")
        dataDir = dir + "/data"
        try? FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: dataDir + "/sample_submission.csv", contents: Data("id,y\n1,0\n".utf8))
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func attempt(_ script: String, budget: Int = 30, grace: Int = 2, snapshot: Int = 60, memory: Int64 = 256 << 20,
                 image: String = testImage, sink: Locked<[Reply]>? = nil) throws -> (AttemptResult, AttemptLayout) {
        let engine = try requireDocker()
        let req = StartRequest(runID: "t\(UUID().uuidString.prefix(6).lowercased())", epoch: 1, sweep: "it", competition: "c",
                               image: image, command: ["/bin/sh", "-c", script], env: [:], dataDir: dataDir,
                               budgetSeconds: budget, graceSeconds: grace, snapshotIntervalSeconds: snapshot, cpus: 1,
                               memoryBytes: memory, shmBytes: 16 << 20, gpus: 0, network: false)
        let layout = AttemptLayout(workDir: dir + "/work", sweep: "it", runID: req.runID, epoch: 1)
        let sup = RunSupervisor(request: req, layout: layout, runtime: DockerRuntime(engine: engine),
                                labels: ["podium.test": "1"]) { r in sink?.withLock { $0.append(r) } }
        return (sup.run(), layout)
    }

    func testCompletedRunWithSubmissionAndContract() throws {
        let (r, layout) = try attempt("""
            echo "id=$COMPETITION_ID limit=$TIME_LIMIT_SECS"; ls /home/data; cp /home/data/sample_submission.csv /home/submission/submission.csv;
            echo note > /home/code/x.py; touch /home/data/forbidden 2>/dev/null && echo WRITABLE || echo readonly
            """)
        XCTAssertEqual(r.outcome, .completed, r.message ?? "")
        XCTAssertEqual(r.exitCode, 0)
        let log = try String(contentsOfFile: layout.agentLog, encoding: .utf8)
        XCTAssertTrue(log.contains("id=c limit=30"), log)
        XCTAssertTrue(log.contains("sample_submission.csv"))
        XCTAssertTrue(log.contains("readonly"), "public data is mounted read-only: \(log)")
        XCTAssertEqual(r.submissionSHA256, SHA256.hex(Array("id,y\n1,0\n".utf8)))
        XCTAssertTrue(FileManager.default.fileExists(atPath: layout.codeDir + "/x.py"))
        XCTAssertEqual(r.snapshots.count, 1, "the final snapshot")
    }

    func testNonZeroExitIsAgentError() throws {
        let (r, _) = try attempt("echo failing; exit 3")
        XCTAssertEqual(r.outcome, .agentError)
        XCTAssertEqual(r.exitCode, 3)
    }

    func testKilledAtBudgetKeepsLastSubmission() throws {
        let (r, layout) = try attempt("echo 'id,y' > /home/submission/submission.csv; echo '1,0.7' >> /home/submission/submission.csv; sleep 600",
                                      budget: 3, grace: 5)
        XCTAssertEqual(r.outcome, .timedOut)
        XCTAssertGreaterThanOrEqual(r.elapsedSeconds, 3)
        XCTAssertLessThan(r.elapsedSeconds, 8, "sleep honours SIGTERM (through the container's init), no SIGKILL needed")
        XCTAssertEqual(r.submissionSHA256, SHA256.hex(fileAt: layout.submissionFile))
        XCTAssertNotNil(r.submissionSHA256)
    }

    func testIgnoringSIGTERMGetsSIGKILLAfterGrace() throws {
        let (r, _) = try attempt("trap '' TERM; echo started; while true; do sleep 1; done", budget: 2, grace: 3)
        XCTAssertEqual(r.outcome, .timedOut)
        XCTAssertGreaterThanOrEqual(r.elapsedSeconds, 5, "budget + grace")
        XCTAssertTrue(r.message?.contains("SIGKILL") ?? false, r.message ?? "")
    }

    func testOOMKill() throws {
        let (r, _) = try attempt("x=$(head -c 300000000 /dev/zero | tr '\\0' a); echo ${#x}", memory: 32 << 20)
        XCTAssertEqual(r.outcome, .oomKilled, "\(r)")
    }

    func testSnapshotsAtIntervalsOnChange() throws {
        let (r, layout) = try attempt("""
            for i in 1 2 3; do echo "id,y" > /home/submission/s.tmp; echo "1,$i" >> /home/submission/s.tmp; mv /home/submission/s.tmp /home/submission/submission.csv; sleep 2; done
            """, snapshot: 1)
        XCTAssertEqual(r.outcome, .completed)
        XCTAssertEqual(r.snapshots.count, 3, "one per distinct content: \(r.snapshots)")
        XCTAssertEqual(Set(r.snapshots.map(\.sha256)).count, 3)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: layout.snapshotsDir).count, 3)
        XCTAssertTrue(r.snapshots.map(\.elapsedSeconds) == r.snapshots.map(\.elapsedSeconds).sorted())
    }

    func testLogIsByteExactFromEveryOffset() throws {
        let sink = Locked<[Reply]>([])
        let (r, layout) = try attempt("seq 1 30000; echo err >&2; printf 'no newline at end'", sink: sink)
        XCTAssertEqual(r.outcome, .completed)
        var expected = (1...30000).map { "\($0)\n" }.joined()
        expected += "err\nno newline at end"
        let onDisk = try Data(contentsOf: URL(fileURLWithPath: layout.agentLog))
        XCTAssertEqual(onDisk.count, expected.utf8.count)
        XCTAssertEqual(String(decoding: onDisk, as: UTF8.self).replacingOccurrences(of: "err\n", with: ""),
                       expected.replacingOccurrences(of: "err\n", with: ""), "stdout bytes in order")
        // The supervisor's log replies only wake the attempt's follower (which reads the file and sends it; byte-exact
        // streaming is LogDigestTests'): no bytes copied into them, offsets rising within the file.
        let offsets = sink.withLock { $0 }.compactMap { r -> Int64? in
            guard case .log(_, _, let offset, let data) = r else { return nil }
            XCTAssertTrue(data.isEmpty)
            return offset
        }
        XCTAssertFalse(offsets.isEmpty)
        XCTAssertEqual(offsets, offsets.sorted())
        XCTAssertLessThan(offsets.last ?? .max, Int64(onDisk.count))
        XCTAssertEqual(r.logBytes, Int64(onDisk.count))
    }

    func testLogCapWritesMarker() throws {
        let engine = try requireDocker()
        let req = StartRequest(runID: "tcap", epoch: 1, sweep: "it", competition: "c", image: testImage,
                               command: ["/bin/sh", "-c", "seq 1 100000"], env: [:], dataDir: dataDir, budgetSeconds: 30,
                               graceSeconds: 2, snapshotIntervalSeconds: 60, cpus: 1, memoryBytes: 256 << 20, shmBytes: 16 << 20,
                               gpus: 0, network: false)
        let layout = AttemptLayout(workDir: dir + "/work", sweep: "it", runID: "tcap", epoch: 1)
        let r = RunSupervisor(request: req, layout: layout, runtime: DockerRuntime(engine: engine), labels: [:],
                              logCapBytes: 1000) { _ in }.run()
        XCTAssertEqual(r.outcome, .completed)
        let log = try String(contentsOfFile: layout.agentLog, encoding: .utf8)
        XCTAssertTrue(log.hasSuffix("[podium: log truncated at 1000 bytes; further output was discarded]\n"), String(log.suffix(100)))
        XCTAssertTrue(log.hasPrefix("1\n2\n3\n"))
    }

    func testMissingImageIsInfraError() throws {
        _ = try requireDocker()
        let (r, _) = try attempt("true", image: "podium/does-not-exist:0")
        XCTAssertEqual(r.outcome, .infraError)
        XCTAssertTrue(r.message?.contains("not on this node") ?? false, r.message ?? "")
    }
}

extension SupervisorTests {
    func testNonRootUserAndExplicitOCIRuntime() throws {
        let engine = try requireDocker()
        var req = StartRequest(runID: "tuser", epoch: 1, sweep: "it", competition: "c", image: testImage,
                               command: ["/bin/sh", "-c", "id -u; echo 'id,y' > /home/submission/submission.csv"], env: [:], dataDir: dataDir,
                               budgetSeconds: 20, graceSeconds: 2, snapshotIntervalSeconds: 60, cpus: 1, memoryBytes: 128 << 20,
                               shmBytes: 16 << 20, gpus: 0, network: false)
        req.user = "1234:1234"
        req.ociRuntime = "runc"
        let layout = AttemptLayout(workDir: dir + "/work", sweep: "it", runID: "tuser", epoch: 1)
        let r = RunSupervisor(request: req, layout: layout, runtime: DockerRuntime(engine: engine), labels: [:]) { _ in }.run()
        XCTAssertEqual(r.outcome, .completed, r.message ?? "")
        XCTAssertEqual(try String(contentsOfFile: layout.agentLog, encoding: .utf8), "1234\n")
        XCTAssertNotNil(r.submissionSHA256, "the non-root agent can write its submission")
    }
}

/// `podium-worker run` in the foreground: Ctrl-C stops the agent as a budget would and removes its container; two runs
/// side by side never collide on a container name.
final class AdHocRunTests: XCTestCase {
    func testInterruptStopsTheAgentAndRemovesItsContainer() throws {
        let engine = try requireDocker()
        let dir = makeTempDir("adhoc")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/data", withIntermediateDirectories: true)
        func start(_ name: String) throws -> ChildProcess {
            try ChildProcess(arguments: [workerBinary, "run", "--image", testImage, "--data-dir", dir + "/data", "--budget", "5m",
                                         "--grace", "5s", "--output-dir", dir + "/" + name, "--",
                                         "/bin/sh", "-c", "trap 'echo got TERM; exit 0' TERM; echo started; while true; do sleep 0.2; done"],
                             stdinPipe: false, stdoutPipe: false, stderr: .file(dir + "/\(name).err"))
        }
        let before = Set(try engine.list(label: "podium.adhoc").map(\.id))
        let a = try start("a"), b = try start("b")
        // Both agents up (each wrote its first line): no name collision.
        for name in ["a", "b"] {
            let until = monotonicSeconds() + 60
            while !((try? String(contentsOfFile: "\(dir)/\(name)/agent.log", encoding: .utf8))?.contains("started") ?? false) {
                XCTAssertLessThan(monotonicSeconds(), until, "agent \(name) did not start: \((try? String(contentsOfFile: "\(dir)/\(name).err", encoding: .utf8)) ?? "")")
                if monotonicSeconds() > until { return }
                sleepSeconds(0.1)
            }
        }
        XCTAssertEqual(Set(try engine.list(label: "podium.adhoc").map(\.id)).subtracting(before).count, 2)
        a.signal(SIGINT)
        XCTAssertEqual(a.wait(timeout: 60), 130, "a run stopped by a signal exits 130")
        XCTAssertTrue(try String(contentsOfFile: dir + "/a/agent.log", encoding: .utf8).contains("got TERM"), "the agent got SIGTERM first")
        XCTAssertEqual(Set(try engine.list(label: "podium.adhoc").map(\.id)).subtracting(before).count, 1, "a's container is gone, b's runs on")
        b.signal(SIGTERM)
        b.signal(SIGTERM)  // twice: killed at once, no grace
        XCTAssertEqual(b.wait(timeout: 60), 130)
        XCTAssertTrue(Set(try engine.list(label: "podium.adhoc").map(\.id)).subtracting(before).isEmpty, "no container left behind")
        let result = try String(contentsOfFile: dir + "/a/result.json", encoding: .utf8)
        XCTAssertTrue(result.contains("\"cancelled\""), result)
    }
}
