import XCTest
import PodiumCore
import PodiumStore
@testable import PodiumCoordinator
import PodiumSystem
#if canImport(Glibc)
import Glibc
#endif

/// A real one-node Slurm cluster on this machine (munged, slurmctld, slurmd from Debian's slurm-wlm), started once per
/// test process by `scripts/slurm-test-cluster`. GPUs there are gres stand-ins on empty device files (named as such).
enum TestSlurm {
    static let dir = "/tmp/podium-slurm"
    static var conf: String { dir + "/slurm.conf" }
    private static let started = Locked<Result<Void, XCTSkip>?>(nil)

    static func start() throws {
        let r = started.withLock { state -> Result<Void, XCTSkip> in
            if let state { return state }
            let result: Result<Void, XCTSkip>
            if getuid() != 0 {
                result = .failure(XCTSkip("the Slurm test cluster's slurmd needs root"))
            } else if let (code, out) = ChildProcess.capture(["bash", repoRoot + "/scripts/slurm-test-cluster", "start", dir], timeout: 300), code == 0 {
                result = .success(())
            } else {
                result = .failure(XCTSkip("the Slurm test cluster did not start (scripts/slurm-test-cluster start; see \(dir)/log)"))
            }
            state = result
            return result
        }
        try r.get()
    }

    static func run(_ args: [String]) -> String {
        var env = ProcessInfo.processInfo.environment
        env["SLURM_CONF"] = conf
        guard let child = try? ChildProcess(arguments: ["/usr/bin/env"] + args, environment: env, stdinPipe: false, stdoutPipe: true, stderr: .stdout) else { return "" }
        var out = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 65536)
        while true { let n = read(child.stdoutFD, &buf, buf.count); if n <= 0 { break }; out += buf[0..<n] }
        close(child.stdoutFD)
        _ = child.wait(timeout: 60)
        return String(decoding: out, as: UTF8.self)
    }

    /// Starts slurmd again when a test killed it (the node returns to service when it registers).
    static func ensureSlurmd() {
        // A live process named slurmd — not the pid file's number, and not a zombie (a killed slurmd whose parent is
        // gone stays one where PID 1 does not reap, as in some containers).
        let pids = (ChildProcess.capture(["pgrep", "-x", "slurmd"])?.output ?? "").split(separator: "\n")
        let alive = pids.contains { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            return !stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
        }
        if alive { return }
        // slurmd daemonizes: its output goes to a file, not a pipe it would keep open.
        // Started the way the cluster script starts it (a shell with no descriptor of this test process but 0-2).
        _ = ChildProcess.capture(["/bin/sh", "-c", "exec /usr/sbin/slurmd -f \"$0\" </dev/null >>\"$1\" 2>&1", conf, dir + "/log/slurmd-restart.log"], timeout: 60)
        let until = monotonicSeconds() + 120
        while monotonicSeconds() < until {
            let state = run(["sinfo", "-h", "-o", "%T"])
            if ["idle", "mixed", "allocated"].contains(where: { state.hasPrefix($0) }) { return }
            // A node Slurm set DOWN comes back when slurmd registers again; an administrator's resume makes it prompt
            // (a slurmd that finds the failed job's step still there may wait minutes before it registers).
            if state.hasPrefix("down") {
                let host = run(["sinfo", "-h", "-o", "%n"]).trimmingCharacters(in: .whitespacesAndNewlines)
                _ = run(["scontrol", "update", "NodeName=\(host)", "State=RESUME"])
            }
            sleepSeconds(0.5)
        }
    }

    /// Job names and states Slurm knows (running and recently ended), "name state" per job.
    static func jobs(prefix: String = "podium-") -> [String] {
        run(["squeue", "-h", "-t", "all", "-o", "%j %T"]).split(separator: "\n").map(String.init).filter { $0.hasPrefix(prefix) }
    }
}

final class SlurmTests: XCTestCase {
    /// Writes the inventory and the sweep; the sweep's name gets a suffix of its own (run ids, and so Slurm job names,
    /// derive from it: jobs of an earlier test run stay in Slurm's memory for MinJobAge). Returns that name.
    @discardableResult
    func writeSweep(_ dir: String, sweep base: String, agent: String, competitions: [String], budget: String = "1m",
                    partition: String = "debug", extra: String = "") throws -> String {
        let sweep = base + "-" + UUID().uuidString.prefix(6).lowercased()
        try """
        {"nodes": [{"name": "cluster", "transport": "local", "runtime": "slurm", "cpus": 2, "memory": "2g", "oversubscribe": true,
          "work_dir": "\(dir)/work", "slurm": {"partition": "\(partition)", "conf": "\(TestSlurm.conf)", "time_margin": "2m"}}]}
        """.write(toFile: dir + "/inventory.json", atomically: true, encoding: .utf8)
        try """
        {"sweep": "\(sweep)", "agent": {"name": "sh", "image": "none", "command": ["/bin/sh", "-c", \(String(reflecting: agent))]},
         "competitions": [\(competitions.map { "\"\($0)\"" }.joined(separator: ", "))], "attempts": 1, "budgets": ["\(budget)"],
         "grace_period": "3s", "hardware": [{"name": "cpu", "cpus": 1, "memory": "300m"}], "inventory": "inventory.json",
         "mlebench_dir": "\(repoRoot)/benchmark/mini", "data_dir": "\(repoRoot)/benchmark/mini-data", "state": "state.sqlite"\(extra)}
        """.write(toFile: dir + "/sweep.json", atomically: true, encoding: .utf8)
        return sweep
    }

    static let copyAgent = #"echo "job $SLURM_JOB_ID on $(hostname) cpus=$SLURM_CPUS_PER_TASK"; sleep 1; cp "$DATA_DIR/sample_submission.csv" "$SUBMISSION_DIR/submission.csv""#

    /// The mini benchmark on Slurm: every attempt a Slurm job named for its run and epoch, graded centrally.
    func testMiniBenchmarkSweepRunsEveryAttemptAsASlurmJob() throws {
        try TestSlurm.start()
        let dir = makeTempDir("slurm-mini")
        defer { killDaemon(dir + "/work"); try? FileManager.default.removeItem(atPath: dir) }
        let comps = ["breast-cancer-diagnosis", "diabetes-progression", "wine-cultivar"]
        let sweep = try writeSweep(dir, sweep: "slmini", agent: Self.copyAgent, competitions: comps)
        let (runner, store) = try makeRunner(dir + "/sweep.json")
        let outcome = try runner.run()
        XCTAssertEqual(outcome.counts[.completed], 3, "\(outcome.counts)")
        let (_, results, _) = try SweepResults.collect(store: store, sweep: sweep)
        XCTAssertTrue(results.allSatisfy { $0.graded && $0.validSubmission }, "\(results)")
        let jobs = TestSlurm.jobs()
        for r in try store.runs(sweep: sweep) {
            XCTAssertTrue(jobs.contains("podium-\(r.id)-e1 COMPLETED"), "\(r.id) ran as one Slurm job: \(jobs)")
            let log = try String(contentsOfFile: "\(dir)/runs/\(sweep)/\(r.id)/e1/agent.log", encoding: .utf8)
            XCTAssertTrue(log.hasPrefix("job ") && log.contains("cpus=1"), "the log came from the job, whole: \(log)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/work/\(sweep)/answers"), "answers stay on the coordinator")
        let podium = directoryOf(workerBinary) + "/podium"
        let status = ChildProcess.capture([podium, "status", dir + "/sweep.json", "--format", "json"], timeout: 30)
        XCTAssertTrue(status?.output.contains("\"slurm\":3") == true, status?.output ?? "")
    }

    /// The cluster reached through its login node over SSH (a real sshd on loopback, host key verified): the worker
    /// there submits the jobs; preflight's sinfo and the test job run over the same SSH.
    func testLoginNodeOverSSH() throws {
        try TestSlurm.start()
        let sshd = try TestSSHD()
        defer { sshd.stop() }
        let dir = makeTempDir("slurm-ssh")
        defer { killDaemon(dir + "/work"); try? FileManager.default.removeItem(atPath: dir) }
        let sweep = try writeSweep(dir, sweep: "slssh", agent: Self.copyAgent, competitions: ["wine-cultivar", "diabetes-progression"])
        try """
        {"nodes": [{"name": "login", "transport": "ssh", "host": "127.0.0.1", "port": \(sshd.port), "user": "\(sshd.user)",
          "identity_file": "\(sshd.userKey)", "known_hosts": "\(sshd.knownHosts)", "runtime": "slurm", "cpus": 2, "memory": "2g",
          "oversubscribe": true, "worker_command": ["\(workerBinary)"], "work_dir": "\(dir)/work",
          "slurm": {"partition": "debug", "conf": "\(TestSlurm.conf)", "time_margin": "2m"}}]}
        """.write(toFile: dir + "/inventory.json", atomically: true, encoding: .utf8)
        let podium = directoryOf(workerBinary) + "/podium"
        let check = ChildProcess.capture([podium, "nodes", "check", "--inventory", dir + "/inventory.json", "--format", "json"], timeout: 120)
        XCTAssertEqual(check?.code, 0, check?.output ?? "")
        XCTAssertTrue(check?.output.contains("\"name\" : \"debug\"") == true || check?.output.contains("\"name\":\"debug\"") == true, check?.output ?? "")
        let (runner, store) = try makeRunner(dir + "/sweep.json")
        XCTAssertEqual(try runner.run().counts[.completed], 2)
        for r in try store.runs(sweep: sweep) {
            XCTAssertEqual(TestSlurm.jobs(prefix: "podium-\(r.id)-").count, 1, "\(r.id) ran as one Slurm job")
        }
    }

    /// An agent that outlives its budget is stopped by podium (SIGTERM through scancel, then SIGKILL) and ends timed out.
    func testBudgetOverrunEndsTimedOut() throws {
        try TestSlurm.start()
        let dir = makeTempDir("slurm-budget")
        defer { killDaemon(dir + "/work"); try? FileManager.default.removeItem(atPath: dir) }
        let sweep = try writeSweep(dir, sweep: "slbudget", agent: #"cp "$DATA_DIR/sample_submission.csv" "$SUBMISSION_DIR/submission.csv"; echo working; sleep 120"#,
                       competitions: ["wine-cultivar"], budget: "4s")
        let (runner, store) = try makeRunner(dir + "/sweep.json")
        XCTAssertEqual(try runner.run().counts[.completed], 1)
        let attempts = try store.attempts(sweep: sweep)
        XCTAssertEqual(attempts.map(\.outcome), [.timedOut], "\(attempts.map { $0.message ?? "" })")
        XCTAssertLessThan(attempts[0].elapsedSeconds ?? 999, 60, "stopped near its budget, not at Slurm's --time")
        let job = TestSlurm.jobs().first { $0.hasPrefix("podium-\(attempts[0].runID)-e1 ") }
        XCTAssertNotNil(job)
        XCTAssertNotEqual(job?.split(separator: " ").last, "TIMEOUT", "podium stopped it at its budget, long before Slurm's --time")
        let id = TestSlurm.run(["squeue", "-h", "-t", "all", "-o", "%j %i"]).split(separator: "\n")
            .first { $0.hasPrefix("podium-\(attempts[0].runID)-e1 ") }?.split(separator: " ").last.map(String.init) ?? "?"
        XCTAssertTrue(TestSlurm.run(["scontrol", "show", "job", "-o", id]).contains("ExitCode=143:0"),
                      "the agent ended on podium's SIGTERM (scancel --signal=TERM), its exit recorded by the job")
    }

    /// A job cancelled by someone else (scancel outside podium) is the cluster's doing: infra, retried, and the run
    /// completes with its second attempt.
    func testJobCancelledOutsidePodiumIsRetried() throws {
        try TestSlurm.start()
        let dir = makeTempDir("slurm-cancel")
        defer { killDaemon(dir + "/work"); try? FileManager.default.removeItem(atPath: dir) }
        let agent = #"if [ ! -f "$MARK" ]; then touch "$MARK"; sleep 120; fi; cp "$DATA_DIR/sample_submission.csv" "$SUBMISSION_DIR/submission.csv""#
        let sweep = try writeSweep(dir, sweep: "slcancel", agent: agent, competitions: ["wine-cultivar"])
        var text = try String(contentsOfFile: dir + "/sweep.json", encoding: .utf8)
        text = text.replacingOccurrences(of: #""image": "none","#, with: #""image": "none", "env": {"MARK": "\#(dir)/first-attempt"},"#)
        try text.write(toFile: dir + "/sweep.json", atomically: true, encoding: .utf8)
        let (runner, store) = try makeRunner(dir + "/sweep.json", retryBackoff: 0.5)
        let box = runInBackground(runner)
        let until = monotonicSeconds() + 90
        var cancelled = false
        while monotonicSeconds() < until && !cancelled {
            if FileManager.default.fileExists(atPath: dir + "/first-attempt"),
               let line = TestSlurm.run(["squeue", "-h", "-t", "running", "-o", "%i %j"]).split(separator: "\n").first(where: { $0.contains("-e1") && $0.contains("podium-") }) {
                _ = TestSlurm.run(["scancel", String(line.split(separator: " ")[0])])
                cancelled = true
            }
            sleepSeconds(0.2)
        }
        XCTAssertTrue(cancelled, "the first attempt's job was seen running")
        while box.withLock({ $0 }) == nil && monotonicSeconds() < until + 60 { sleepSeconds(0.2) }
        let outcome = try XCTUnwrap(box.withLock { $0 }).get()
        XCTAssertEqual(outcome.counts[.completed], 1)
        let attempts = try store.attempts(sweep: sweep)
        XCTAssertEqual(attempts.map(\.outcome), [.infraError, .completed])
        XCTAssertTrue(attempts[0].message?.contains("cancelled outside podium") == true, attempts[0].message ?? "")
    }

    /// The node fails under a running job — slurmd and the job's slurmstepd killed (kill -9), as when a machine dies:
    /// Slurm ends the job NODE_FAIL; podium counts it as infra, requeues the run, and once slurmd is back the second
    /// attempt completes. (With the job's slurmstepd left alive, a restarted slurmd here took minutes to register.)
    func testSlurmdKilledMidRunRequeuesTheAttempt() throws {
        try TestSlurm.start()
        let dir = makeTempDir("slurm-nodefail")
        defer { killDaemon(dir + "/work"); try? FileManager.default.removeItem(atPath: dir) }
        defer { TestSlurm.ensureSlurmd() }
        let agent = #"if [ ! -f "$MARK" ]; then touch "$MARK"; sleep 300; fi; cp "$DATA_DIR/sample_submission.csv" "$SUBMISSION_DIR/submission.csv""#
        let sweep = try writeSweep(dir, sweep: "slnodefail", agent: agent, competitions: ["wine-cultivar"], budget: "10m")
        var text = try String(contentsOfFile: dir + "/sweep.json", encoding: .utf8)
        text = text.replacingOccurrences(of: #""image": "none","#, with: #""image": "none", "env": {"MARK": "\#(dir)/first-attempt"},"#)
        try text.write(toFile: dir + "/sweep.json", atomically: true, encoding: .utf8)
        let (runner, store) = try makeRunner(dir + "/sweep.json", retryBackoff: 0.5)
        let box = runInBackground(runner)
        let until = monotonicSeconds() + 60
        while !FileManager.default.fileExists(atPath: dir + "/first-attempt") && monotonicSeconds() < until { sleepSeconds(0.2) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/first-attempt"), "the first attempt ran")
        let pid = try XCTUnwrap(Int32((try String(contentsOfFile: TestSlurm.dir + "/slurmd.pid", encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)))
        kill(pid, SIGKILL)
        _ = ChildProcess.capture(["pkill", "-9", "-x", "slurmstepd"])
        // Slurm declares the node down after SlurmdTimeout (10 s in the test cluster) and ends the job NODE_FAIL.
        let failUntil = monotonicSeconds() + 90
        while !TestSlurm.jobs().contains(where: { $0.hasSuffix("-e1 NODE_FAIL") }) && monotonicSeconds() < failUntil { sleepSeconds(0.5) }
        XCTAssertTrue(TestSlurm.jobs().contains { $0.hasSuffix("-e1 NODE_FAIL") }, "\(TestSlurm.jobs())")
        TestSlurm.ensureSlurmd()
        while box.withLock({ $0 }) == nil && monotonicSeconds() < failUntil + 120 { sleepSeconds(0.2) }
        let outcome = try XCTUnwrap(box.withLock { $0 }, "the sweep ended").get()
        XCTAssertEqual(outcome.counts[.completed], 1)
        let attempts = try store.attempts(sweep: sweep)
        XCTAssertEqual(attempts.map(\.outcome), [.infraError, .completed])
        XCTAssertTrue(attempts[0].message?.contains("NODE_FAIL") == true, attempts[0].message ?? "")
    }

    /// A partition the cluster does not have is refused before anything is submitted (preflight, exit 2).
    func testBadPartitionRefusedBeforeSubmission() throws {
        try TestSlurm.start()
        let dir = makeTempDir("slurm-partition")
        defer { killDaemon(dir + "/work"); try? FileManager.default.removeItem(atPath: dir) }
        let sweep = try writeSweep(dir, sweep: "slpart", agent: Self.copyAgent, competitions: ["wine-cultivar"], partition: "gpu-nonexistent")
        let podium = directoryOf(workerBinary) + "/podium"
        let r = ChildProcess.capture([podium, "sweep", dir + "/sweep.json", "--quiet"], timeout: 120)
        XCTAssertEqual(r?.code, 2)
        let store = try? StateStore(path: dir + "/state.sqlite")
        XCTAssertEqual(try store?.attempts(sweep: sweep).count ?? 0, 0)
        // stderr carried the reason; run again capturing it.
        let child = try ChildProcess(arguments: [podium, "sweep", dir + "/sweep.json", "--quiet"], stdinPipe: false, stdoutPipe: true, stderr: .stdout)
        var out = [UInt8](); var buf = [UInt8](repeating: 0, count: 65536)
        while true { let n = read(child.stdoutFD, &buf, buf.count); if n <= 0 { break }; out += buf[0..<n] }
        close(child.stdoutFD)
        XCTAssertEqual(child.wait(timeout: 120), 2)
        let text = String(decoding: out, as: UTF8.self)
        XCTAssertTrue(text.contains("partition 'gpu-nonexistent' is not in sinfo (partitions: debug)"), text)
        _ = sweep
    }

    /// kill -9 of the coordinator right after a start went out: the next `podium sweep` finds the jobs through the
    /// worker on the login node and adopts them; no run is submitted twice.
    func testCoordinatorKilledJobsAreAdoptedNotResubmitted() throws {
        try TestSlurm.start()
        let podium = directoryOf(workerBinary) + "/podium"
        guard FileManager.default.isExecutableFile(atPath: podium) else { throw XCTSkip("podium not built at \(podium)") }
        let dir = makeTempDir("slurm-kill")
        defer { killDaemon(dir + "/work"); try? FileManager.default.removeItem(atPath: dir) }
        let sweep = try writeSweep(dir, sweep: "slkill", agent: "sleep 4; " + Self.copyAgent, competitions: ["wine-cultivar", "breast-cancer-diagnosis"])
        var env = ProcessInfo.processInfo.environment
        env["PODIUM_FAILPOINT"] = "dispatch-after-send"
        let first = try ChildProcess(arguments: [podium, "sweep", dir + "/sweep.json", "--quiet"], environment: env, stdinPipe: false,
                                     stdoutPipe: false, stderr: .file(dir + "/first.log"))
        XCTAssertEqual(first.wait(timeout: 120), 128 + SIGKILL)
        let again = ChildProcess.capture([podium, "sweep", dir + "/sweep.json", "--quiet"], timeout: 180)
        XCTAssertEqual(again?.code, 0)
        let store = try StateStore(path: dir + "/state.sqlite")
        XCTAssertEqual(try store.runs(sweep: sweep).map(\.state), [.completed, .completed])
        let attempts = try store.attempts(sweep: sweep)
        XCTAssertEqual(attempts.map(\.epoch), [1, 1], "adopted, not run again: \(attempts.map { "\($0.runID)#\($0.epoch) \($0.outcome?.rawValue ?? "-")" })")
        for r in try store.runs(sweep: sweep) {
            XCTAssertEqual(TestSlurm.jobs(prefix: "podium-\(r.id)-").count, 1, "one Slurm job for \(r.id)")
        }
    }
}
