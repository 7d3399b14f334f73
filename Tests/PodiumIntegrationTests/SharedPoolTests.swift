import XCTest
import PodiumCore
import PodiumStore
@testable import PodiumCoordinator
import PodiumSystem
#if canImport(Glibc)
import Glibc
#endif

/// Issue 27 end to end: several sweeps, each with its own state file, on one inventory node whose daemon they share.
/// The agents write when they start and end into a file outside podium, so "never more than the node's slots at once"
/// is measured by the agents themselves, not by podium's own bookkeeping.
final class SharedPoolTests: XCTestCase {
    /// Starts a line in `starts`, works `seconds`, leaves the sample submission, and writes its interval to `intervals`.
    static func agent(_ shared: String, seconds: Double) -> String {
        #"s=$(date +%s.%N); echo "$s" >> \#(shared)/starts; sleep \#(seconds); cp "$DATA_DIR/sample_submission.csv" "$SUBMISSION_DIR/submission.csv"; echo "$s $(date +%s.%N)" >> \#(shared)/intervals"#
    }

    /// A pool of one local node with 4 CPU slots whose daemon lives in one work directory (as two users of one machine
    /// would set it up), and a sweep file per sweep in its own directory with its own state.
    func writePool(_ dir: String, slots: Int = 4) throws {
        try """
        {"nodes": [{"name": "shared", "transport": "local", "runtime": "process", "cpus": \(slots), "memory": "8g",
                    "oversubscribe": true, "work_dir": "\(dir)/work"}]}
        """.write(toFile: dir + "/inventory.json", atomically: true, encoding: .utf8)
    }

    func writeSweep(_ dir: String, name: String, attempts: Int, seconds: Double = 2, share: Double = 1, budget: String = "60s") throws -> String {
        let sdir = dir + "/" + name
        try FileManager.default.createDirectory(atPath: sdir, withIntermediateDirectories: true)
        try """
        {"sweep": "\(name)", "agent": {"name": "sleeper", "image": "none", "command": ["/bin/sh", "-c", \(String(reflecting: Self.agent(dir, seconds: seconds)))]},
         "competitions": ["wine-cultivar", "breast-cancer-diagnosis"], "attempts": \(attempts), "budgets": ["\(budget)"],
         "hardware": [{"name": "cpu", "cpus": 1, "memory": "512m"}], "inventory": "../inventory.json", "share": \(share),
         "mlebench_dir": "\(repoRoot)/benchmark/mini", "data_dir": "\(repoRoot)/benchmark/mini-data", "state": "state.sqlite"}
        """.write(toFile: sdir + "/sweep.json", atomically: true, encoding: .utf8)
        return sdir + "/sweep.json"
    }

    func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Waits (up to `timeout`) for a condition on state, never for a fixed time.
    func waitFor(_ what: String, timeout: Double = 60, _ ok: () -> Bool) {
        let until = monotonicSeconds() + timeout
        while !ok() {
            guard monotonicSeconds() < until else { return XCTFail("timed out waiting for \(what)") }
            sleepSeconds(0.1)
        }
    }

    /// The most agents that ran at once, from their own start and end times.
    func peakConcurrency(_ dir: String) -> Int {
        var edges = [(Double, Int)]()
        for l in lines(dir + "/intervals") {
            let p = l.split(separator: " ").compactMap { Double($0) }
            guard p.count == 2 else { continue }
            edges.append((p[0], 1))
            edges.append((p[1], -1))
        }
        var now = 0, peak = 0
        for e in edges.sorted(by: { ($0.0, $0.1) < ($1.0, $1.1) }) { now += e.1; peak = max(peak, now) }
        return peak
    }

    func assertAllGraded(_ store: StateStore, _ sweep: String, runs: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let (list, results, _) = try SweepResults.collect(store: store, sweep: sweep)
        XCTAssertEqual(list.count, runs, file: file, line: line)
        XCTAssertEqual(list.filter { $0.state == .completed }.count, runs, "\(sweep): \(list.map { "\($0.id) \($0.state)" })", file: file, line: line)
        XCTAssertTrue(results.allSatisfy { $0.graded && $0.validSubmission }, "\(sweep): every run graded", file: file, line: line)
    }

    /// No attempt of the sweep was fenced or cancelled, and none failed for the infrastructure: only node_busy refusals
    /// (which ran nothing) may precede an attempt that completed.
    func assertUnharmed(_ store: StateStore, _ sweep: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try store.events(kind: "fenced"), [], "\(sweep): nothing fenced", file: file, line: line)
        let attempts = try store.attempts(sweep: sweep)
        let bad = attempts.filter { $0.outcome != .completed && $0.outcome != .nodeBusy }
        XCTAssertEqual(bad.map { "\($0.runID)#\($0.epoch) \($0.outcome?.rawValue ?? "-") \($0.message ?? "")" }, [],
                       "\(sweep): no attempt cancelled, lost or failed", file: file, line: line)
    }

    /// The acceptance: two sweeps with different state files on one node of 4 slots, the second started while the first
    /// fills it. Both end with every run completed and graded, the first one's log has no fenced or cancelled attempt,
    /// and the agents never ran more than 4 at once.
    func testTwoSweepsShareAFourSlotNodeWithoutOverCommitOrHarm() throws {
        guard FileManager.default.isExecutableFile(atPath: workerBinary) else { return XCTFail("podium-worker not built at \(workerBinary)") }
        let dir = makeTempDir("pool2")
        defer { killDaemon(dir + "/work"); try? FileManager.default.removeItem(atPath: dir) }
        try writePool(dir)
        let (first, firstStore) = try makeRunner(try writeSweep(dir, name: "alpha", attempts: 4), retryBackoff: 0.5)
        let (second, secondStore) = try makeRunner(try writeSweep(dir, name: "beta", attempts: 3), retryBackoff: 0.5)
        let a = runInBackground(first)
        waitFor("alpha to fill the node") { lines(dir + "/starts").count >= 4 }
        let b = runInBackground(second)
        // What `podium status` shows beta: the node shared with alpha, and why its runs wait.
        var seen: [NodeShareView] = []
        waitFor("beta's state to show alpha on the shared node") {
            seen = (try? NodeShareView.all(store: secondStore, sweep: "beta")) ?? []
            return seen.first?.sweeps.contains { $0.sweep == "alpha" && $0.attempts > 0 } == true
        }
        XCTAssertTrue(seen[0].line.contains("alpha") && seen[0].line.contains("beta (this sweep)"), seen[0].line)
        waitFor("both sweeps to end", timeout: 180) { a.withLock { $0 != nil } && b.withLock { $0 != nil } }
        _ = try XCTUnwrap(a.withLock { $0 }).get()
        _ = try XCTUnwrap(b.withLock { $0 }).get()

        try assertAllGraded(firstStore, "alpha", runs: 8)
        try assertAllGraded(secondStore, "beta", runs: 6)
        try assertUnharmed(firstStore, "alpha")
        try assertUnharmed(secondStore, "beta")
        XCTAssertEqual(lines(dir + "/intervals").count, 14, "each of the 14 runs ran its agent once")
        let peak = peakConcurrency(dir)
        XCTAssertLessThanOrEqual(peak, 4, "never more agents at once than the node's 4 slots")
        XCTAssertEqual(peak, 4, "the node was used to the full")
        // Beta was started while alpha filled the node: it waited on capacity (it may have been refused a start).
        XCTAssertEqual(try secondStore.attempts(sweep: "beta").filter { $0.outcome == .nodeBusy }.allSatisfy { ($0.message ?? "").contains("node busy") }, true)
    }

    /// kill -9 of one sweep's coordinator mid-run affects only that sweep: the other goes on untouched, and the killed one,
    /// restarted while the other runs, adopts its own attempts and leaves the other's alone.
    func testKillingOneCoordinatorAffectsOnlyItsSweep() throws {
        let podium = directoryOf(workerBinary) + "/podium"
        guard FileManager.default.isExecutableFile(atPath: podium) else { return XCTFail("podium not built at \(podium)") }
        let dir = makeTempDir("pool-kill")
        defer { killDaemon(dir + "/work"); try? FileManager.default.removeItem(atPath: dir) }
        try writePool(dir)
        let alphaPath = try writeSweep(dir, name: "alpha", attempts: 3, seconds: 4)
        let killed = try ChildProcess(arguments: [podium, "sweep", alphaPath, "--quiet"], stdinPipe: false, stdoutPipe: false,
                                      stderr: .file(dir + "/alpha.log"))
        waitFor("alpha to start attempts") { lines(dir + "/starts").count >= 2 }
        let (beta, betaStore) = try makeRunner(try writeSweep(dir, name: "beta", attempts: 2), retryBackoff: 0.5)
        let b = runInBackground(beta)
        kill(killed.pid, SIGKILL)
        killed.wait(timeout: 10)
        // Alpha's coordinator is gone; its attempts run on, and beta goes on beside them.
        let (alpha, alphaStore) = try makeRunner(alphaPath, retryBackoff: 0.5)
        let liveBefore = try alphaStore.runs(sweep: "alpha").filter { $0.state.hasLiveAttempt }.count
        XCTAssertGreaterThan(liveBefore, 0, "the kill landed while alpha had attempts on the node")
        let a = runInBackground(alpha)
        waitFor("both sweeps to end", timeout: 180) { a.withLock { $0 != nil } && b.withLock { $0 != nil } }
        _ = try XCTUnwrap(a.withLock { $0 }).get()
        _ = try XCTUnwrap(b.withLock { $0 }).get()

        try assertAllGraded(alphaStore, "alpha", runs: 6)
        try assertAllGraded(betaStore, "beta", runs: 4)
        try assertUnharmed(betaStore, "beta")
        try assertUnharmed(alphaStore, "alpha")
        XCTAssertGreaterThan(try alphaStore.events(kind: "adopted").count, 0, "the restarted coordinator adopted its running attempts")
        XCTAssertEqual(try betaStore.events(kind: "adopted"), [], "beta never adopted alpha's attempts")
        XCTAssertEqual(lines(dir + "/intervals").count, 10, "each run ran its agent exactly once")
        XCTAssertLessThanOrEqual(peakConcurrency(dir), 4)
    }

    /// A sweep whose coordinator will never return: its attempts are left alone until an operator asks. `podium nodes
    /// sweeps` lists it (live attempts, coordinator away); `podium nodes clean --sweep` stops and removes them, and is
    /// refused for a sweep whose coordinator is connected.
    func testLeftoversAreListedAndRemovedOnlyOnRequest() throws {
        let podium = directoryOf(workerBinary) + "/podium"
        guard FileManager.default.isExecutableFile(atPath: podium) else { return XCTFail("podium not built at \(podium)") }
        let dir = makeTempDir("pool-clean")
        defer { killDaemon(dir + "/work"); try? FileManager.default.removeItem(atPath: dir) }
        try writePool(dir)
        let gonePath = try writeSweep(dir, name: "gone", attempts: 2, seconds: 600, budget: "20m")
        let gone = try ChildProcess(arguments: [podium, "sweep", gonePath, "--quiet"], stdinPipe: false, stdoutPipe: false,
                                    stderr: .file(dir + "/gone.log"))
        waitFor("gone to start its attempts") { lines(dir + "/starts").count >= 4 }
        kill(gone.pid, SIGKILL)
        gone.wait(timeout: 10)
        let inventory = dir + "/inventory.json"
        let nodes = { (args: [String]) in ChildProcess.capture([podium, "nodes"] + args + ["--inventory", inventory], timeout: 120) }
        let listed = try XCTUnwrap(nodes(["sweeps", "shared", "--format", "json"]))
        XCTAssertEqual(listed.code, 0, listed.output)
        struct Row: Decodable { var id: String; var sweep: String; var live: Int; var connected: Bool }
        let rows = try JSONDecoder().decode([Row].self, from: Data(listed.output.utf8))
        let row = try XCTUnwrap(rows.first { $0.sweep == "gone" }, listed.output)
        XCTAssertEqual(row.live, 4)
        XCTAssertFalse(row.connected)

        // While a sweep's coordinator is connected, cleaning up after it is refused.
        let (other, _) = try makeRunner(try writeSweep(dir, name: "other", attempts: 1, seconds: 30), retryBackoff: 0.5)
        let o = runInBackground(other)
        var otherID = ""
        waitFor("other to connect") {
            let r = nodes(["sweeps", "shared", "--format", "json"])
            otherID = ((try? JSONDecoder().decode([Row].self, from: Data((r?.output ?? "").utf8))) ?? []).first { $0.sweep == "other" && $0.connected }?.id ?? ""
            return !otherID.isEmpty
        }
        let refused = try XCTUnwrap(nodes(["clean", "shared", "--sweep", otherID]))
        XCTAssertNotEqual(refused.code, 0, "cleaning a connected sweep was not refused: \(refused.output)")
        other.inbox.push(.interrupt(SIGINT), wait: false)

        let cleaned = try XCTUnwrap(nodes(["clean", "shared", "--sweep", row.id]))
        XCTAssertEqual(cleaned.code, 0, cleaned.output)
        XCTAssertTrue(cleaned.output.contains("4 live attempt(s) stopped"), cleaned.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/work/" + row.id))
        let after = try XCTUnwrap(nodes(["sweeps", "shared", "--format", "json"]))
        XCTAssertFalse(after.output.contains("\"gone\""), after.output)
        waitFor("other to detach", timeout: 60) { o.withLock { $0 != nil } }
    }

    /// Three sweeps (shares 1, 1, 2), each with its own coordinator and state, on one SSH node (a real sshd) whose daemon
    /// runs real Docker containers in 2 CPU slots: every run of every sweep completes and is graded, Docker never runs
    /// more than 2 agent containers of the node at once (sampled from the engine), nothing is fenced or cancelled.
    func testThreeSweepsOverSSHOnADockerNodeNeverOverCommit() throws {
        _ = try requireDocker()
        guard FileManager.default.isExecutableFile(atPath: workerBinary) else { return XCTFail("podium-worker not built at \(workerBinary)") }
        let sshd = try TestSSHD()
        defer { sshd.stop() }
        let dir = makeTempDir("pool-ssh")
        let node = "pool-\(UUID().uuidString.prefix(6).lowercased())"
        defer {
            killDaemon(dir + "/work")
            _ = ChildProcess.capture(["sh", "-c", "docker rm -f $(docker ps -aq --filter label=podium.node=\(node)) 2>/dev/null"])
            try? FileManager.default.removeItem(atPath: dir)
        }
        try """
        {"nodes": [{"name": "\(node)", "transport": "ssh", "host": "127.0.0.1", "port": \(sshd.port), "user": "\(sshd.user)",
          "identity_file": "\(sshd.userKey)", "known_hosts": "\(sshd.knownHosts)", "runtime": "docker", "cpus": 2, "memory": "4g",
          "oversubscribe": true, "worker_command": ["\(workerBinary)"], "work_dir": "\(dir)/work"}]}
        """.write(toFile: dir + "/inventory.json", atomically: true, encoding: .utf8)
        let agent = "sleep 2; cp /home/data/sample_submission.csv /home/submission/submission.csv"
        var runners = [(SweepRunner, StateStore, String)]()
        for (name, share) in [("alpha", 1.0), ("beta", 1.0), ("gamma", 2.0)] {
            let sdir = dir + "/" + name
            try FileManager.default.createDirectory(atPath: sdir, withIntermediateDirectories: true)
            try """
            {"sweep": "\(name)", "share": \(share), "agent": {"name": "sleeper", "image": "\(testImage)", "command": ["/bin/sh", "-c", "\(agent)"]},
             "competitions": ["wine-cultivar", "breast-cancer-diagnosis"], "attempts": 2, "budgets": ["60s"],
             "hardware": [{"name": "cpu", "cpus": 1, "memory": "256m"}], "inventory": "../inventory.json",
             "mlebench_dir": "\(repoRoot)/benchmark/mini", "data_dir": "\(repoRoot)/benchmark/mini-data", "state": "state.sqlite"}
            """.write(toFile: sdir + "/sweep.json", atomically: true, encoding: .utf8)
            let (r, st) = try makeRunner(sdir + "/sweep.json", retryBackoff: 0.5)
            runners.append((r, st, name))
        }
        // The engine's own count of this node's running containers, sampled while the sweeps run.
        let peak = Locked(0), sampling = Locked(true)
        BlockingThread.start {
            while sampling.withLock({ $0 }) {
                if let out = ChildProcess.capture(["docker", "ps", "-q", "--filter", "label=podium.node=\(node)"]) {
                    let n = out.output.split(separator: "\n").count
                    peak.withLock { $0 = max($0, n) }
                }
                sleepSeconds(0.05)
            }
        }
        let outcomes = runners.map { runInBackground($0.0) }
        waitFor("the three sweeps to end", timeout: 300) { outcomes.allSatisfy { $0.withLock { $0 != nil } } }
        sampling.withLock { $0 = false }
        for o in outcomes { _ = try XCTUnwrap(o.withLock { $0 }).get() }
        for (_, store, name) in runners {
            try assertAllGraded(store, name, runs: 4)
            try assertUnharmed(store, name)
        }
        XCTAssertLessThanOrEqual(peak.withLock { $0 }, 2, "Docker ran more agent containers of the node at once than its 2 slots")
        XCTAssertGreaterThan(peak.withLock { $0 }, 0, "the sampler saw the containers")
    }

    /// Two sweeps whose states live in different folders get two daemons (each local node's work directory is beside its
    /// state) with the same node name on one Docker engine. The second, started while the first runs attempts, must not
    /// remove the first one's containers as orphans: the first sweep's attempts run to the end untouched.
    func testTwoDaemonsWithTheSameNodeNameOnOneEngineLeaveEachOtherAlone() throws {
        _ = try requireDocker()
        guard FileManager.default.isExecutableFile(atPath: workerBinary) else { return XCTFail("podium-worker not built at \(workerBinary)") }
        let dir = makeTempDir("twins")
        let node = "twin-\(UUID().uuidString.prefix(6).lowercased())"
        defer {
            killDaemon(dir + "/first/worker-\(node)"); killDaemon(dir + "/second/worker-\(node)")
            _ = ChildProcess.capture(["sh", "-c", "docker rm -f $(docker ps -aq --filter label=podium.node=\(node)) 2>/dev/null"])
            try? FileManager.default.removeItem(atPath: dir)
        }
        try """
        {"nodes": [{"name": "\(node)", "transport": "local", "runtime": "docker", "cpus": 4, "memory": "4g", "oversubscribe": true}]}
        """.write(toFile: dir + "/inventory.json", atomically: true, encoding: .utf8)
        var runners = [(SweepRunner, StateStore, String)]()
        for (name, seconds) in [("first", 8), ("second", 1)] {
            let sdir = dir + "/" + name
            try FileManager.default.createDirectory(atPath: sdir, withIntermediateDirectories: true)
            try """
            {"sweep": "\(name)", "agent": {"name": "sleeper", "image": "\(testImage)", "command": ["/bin/sh", "-c", "sleep \(seconds); cp /home/data/sample_submission.csv /home/submission/submission.csv"]},
             "competitions": ["wine-cultivar", "breast-cancer-diagnosis"], "attempts": 1, "budgets": ["60s"],
             "hardware": [{"name": "cpu", "cpus": 1, "memory": "256m"}], "inventory": "../inventory.json",
             "mlebench_dir": "\(repoRoot)/benchmark/mini", "data_dir": "\(repoRoot)/benchmark/mini-data", "state": "state.sqlite"}
            """.write(toFile: sdir + "/sweep.json", atomically: true, encoding: .utf8)
            let (r, st) = try makeRunner(sdir + "/sweep.json", retryBackoff: 0.5)
            runners.append((r, st, name))
        }
        let a = runInBackground(runners[0].0)
        waitFor("the first sweep's containers to run") {
            (ChildProcess.capture(["docker", "ps", "-q", "--filter", "label=podium.node=\(node)"])?.output.split(separator: "\n").count ?? 0) >= 2
        }
        let b = runInBackground(runners[1].0)
        waitFor("both sweeps to end", timeout: 180) { a.withLock { $0 != nil } && b.withLock { $0 != nil } }
        _ = try XCTUnwrap(a.withLock { $0 }).get()
        _ = try XCTUnwrap(b.withLock { $0 }).get()
        for (_, store, name) in runners {
            try assertAllGraded(store, name, runs: 2)
            try assertUnharmed(store, name)
            XCTAssertEqual(try store.attempts(sweep: name).count, 2, "\(name): each run's one attempt ran to the end")
        }
    }
}
