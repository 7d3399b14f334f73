import XCTest
import PodiumCore
import PodiumStore
@testable import PodiumCoordinator
import PodiumSystem

/// Node faults around `lost_after`: a partition shorter than it wastes nothing; a node that reboots (daemon, agents
/// and work directory gone) has its attempt requeued as a new epoch, counted as an infra failure.
final class NodeFaultTests: XCTestCase {
    func sweep(_ dir: String, sshd: TestSSHD, name: String, spare: Bool, lostAfter: String, attempts: Int, sleep: Int) throws -> (SweepRunner, StateStore) {
        let spareNode = spare ? #", {"name": "spare", "transport": "local", "runtime": "process", "cpus": 1, "memory": "4g", "work_dir": "\#(dir)/spare-work"}"# : ""
        try """
        {"nodes": [
          {"name": "remote", "transport": "ssh", "host": "127.0.0.1", "port": \(sshd.port), "user": "\(sshd.user)",
           "identity_file": "\(sshd.userKey)", "known_hosts": "\(sshd.knownHosts)", "runtime": "process", "cpus": 1, "memory": "4g",
           "keepalive": 1, "worker_command": ["\(workerBinary)"], "work_dir": "\(dir)/remote-work"}\(spareNode)]}
        """.write(toFile: dir + "/inventory.json", atomically: true, encoding: .utf8)
        let agent = "echo podium-fault-agent-\(name); sleep \(sleep); cp \"$DATA_DIR/sample_submission.csv\" \"$SUBMISSION_DIR/submission.csv\""
        try """
        {"sweep": "\(name)", "agent": {"name": "sleepy", "image": "none", "command": ["/bin/sh", "-c", \(String(reflecting: agent))]},
         "competitions": ["wine-cultivar"], "attempts": \(attempts), "budgets": ["90s"], "lost_after": "\(lostAfter)",
         "hardware": [{"name": "cpu", "cpus": 1, "memory": "1g"}], "inventory": "inventory.json",
         "mlebench_dir": "\(repoRoot)/benchmark/mini", "data_dir": "\(repoRoot)/benchmark/mini-data", "state": "state.sqlite"}
        """.write(toFile: dir + "/sweep.json", atomically: true, encoding: .utf8)
        return try makeRunner(dir + "/sweep.json")
    }

    func waitFor(_ what: String, timeout: Double = 60, _ cond: () -> Bool) {
        let until = monotonicSeconds() + timeout
        while !cond() && monotonicSeconds() < until { sleepSeconds(0.1) }
        XCTAssertTrue(cond(), "timed out waiting for \(what)")
    }

    func testPartitionShorterThanLostAfterWastesNothing() throws {
        let sshd = try TestSSHD()
        let dir = makeTempDir("shortpart")
        defer {
            sshd.stop()
            _ = ChildProcess.capture([workerBinary, "stop", "--work-dir", dir + "/remote-work"])
            try? FileManager.default.removeItem(atPath: dir)
        }
        let (runner, store) = try sweep(dir, sshd: sshd, name: "shortpart", spare: false, lostAfter: "60s", attempts: 1, sleep: 14)
        let outcome = runInBackground(runner)
        waitFor("the attempt to run") { (try? store.runs(sweep: "shortpart"))?.first?.state == .running }
        sshd.pause()
        waitFor("the coordinator to notice", timeout: 20) { ((try? store.events(kind: "node_down")) ?? []).count == 1 }
        try sshd.resume()
        waitFor("the sweep to finish", timeout: 90) { outcome.withLock { $0 } != nil }
        XCTAssertEqual(try XCTUnwrap(outcome.withLock { $0 }).get().counts[.completed], 1)
        let run = try XCTUnwrap(try store.runs(sweep: "shortpart").first)
        let attempts = try store.attempts(runID: run.id)
        XCTAssertEqual(attempts.map(\.outcome), [.completed], "no requeue, no second attempt: \(attempts)")
        XCTAssertEqual(try store.events(kind: "adopted").count, 1, "the live attempt was adopted on reconnection")
        let log = try XCTUnwrap(try store.artifacts(runID: run.id, epoch: 1).first { $0.name == "agent.log" })
        XCTAssertEqual(SHA256.hex(fileAt: log.path), log.sha256, "log byte-exact across the partition")
    }

    func testNodeRebootRequeuesAsInfraFailure() throws {
        let sshd = try TestSSHD()
        let dir = makeTempDir("reboot")
        defer {
            sshd.stop()
            _ = ChildProcess.capture([workerBinary, "stop", "--work-dir", dir + "/remote-work"])
            _ = ChildProcess.capture([workerBinary, "stop", "--work-dir", dir + "/spare-work"])
            _ = ChildProcess.capture(["pkill", "-9", "-f", "podium-fault-agent-reboot"])
            try? FileManager.default.removeItem(atPath: dir)
        }
        let (runner, store) = try sweep(dir, sshd: sshd, name: "reboot", spare: true, lostAfter: "60s", attempts: 2, sleep: 8)
        let outcome = runInBackground(runner)
        waitFor("both attempts to run") { (try? store.runs(sweep: "reboot"))?.filter { $0.state == .running }.count == 2 }
        let victim = try XCTUnwrap(try store.runs(sweep: "reboot").first { $0.node == "remote" })
        // The "reboot": the node drops off the network, its daemon and agents die, its disk state is gone; it comes back.
        sshd.pause()
        let pid = (try? String(contentsOfFile: dir + "/remote-work/daemon.pid", encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        if let pid { kill(pid, SIGKILL) }
        _ = ChildProcess.capture(["sh", "-c", "for p in $(pgrep -f 'podium-fault-agent-reboot'); do if grep -q remote-work /proc/$p/environ 2>/dev/null; then kill -9 $p; fi; done"])
        try? FileManager.default.removeItem(atPath: dir + "/remote-work")
        try sshd.resume()
        waitFor("the sweep to finish", timeout: 120) { outcome.withLock { $0 } != nil }
        XCTAssertEqual(try XCTUnwrap(outcome.withLock { $0 }).get().counts[.completed], 2)
        let attempts = try store.attempts(runID: victim.id)
        XCTAssertEqual(attempts.map(\.outcome), [.lost, .completed], "\(attempts)")
        XCTAssertEqual(attempts.map(\.epoch), [1, 2])
        XCTAssertEqual(try store.run(victim.id)?.infraFailures, 1, "counted as an infra failure, not an agent result")
        XCTAssertEqual(try store.grades(sweep: "reboot").filter { $0.isFinal }.count, 2, "each run graded once")
        XCTAssertEqual(try store.integrityCheck(), "ok")
    }
}
