import XCTest
import PodiumCore
import PodiumStore
@testable import PodiumCoordinator
import PodiumSystem

/// `podium cancel`, `podium retry`, `podium status --watch` and the one-coordinator lock, through the real CLI against
/// a running `podium sweep` (real worker, real containers) and with no coordinator at all.
final class OperatorTests: XCTestCase {
    func podium() throws -> String {
        let p = directoryOf(workerBinary) + "/podium"
        guard FileManager.default.isExecutableFile(atPath: p) else { throw XCTSkip("podium not built at \(p)") }
        return p
    }

    func cli(_ args: [String], timeout: Double = 60) -> (code: Int32, out: String) {
        let r = ChildProcess.capture(args, timeout: timeout)
        return (r?.code ?? -1, r?.output ?? "")
    }

    func testCancelRetryAndOneCoordinatorPerState() throws {
        _ = try requireDocker(images: [baselineImage])
        let podium = try podium()
        let dir = makeTempDir("operator")
        defer { killDaemon(dir + "/state/worker-local"); try? FileManager.default.removeItem(atPath: dir) }
        try #"{"nodes": [{"name": "local", "transport": "local", "cpus": 2, "memory": "8g"}]}"#
            .write(toFile: dir + "/inventory.json", atomically: true, encoding: .utf8)
        try """
        {"sweep": "ops", "agent": {"name": "baseline", "image": "\(baselineImage)", "env": {"AGENT_ROUND_SECS": "0.2"}},
         "competitions": ["wine-cultivar", "handwritten-digits"], "attempts": 2, "budgets": ["12s"],
         "hardware": [{"name": "cpu", "cpus": 1, "memory": "512m"}], "snapshot_interval": "3s", "grace_period": "3s",
         "inventory": "inventory.json", "mlebench_dir": "\(repoRoot)/benchmark/mini", "data_dir": "\(repoRoot)/benchmark/mini-data",
         "state": "state/state.sqlite"}
        """.write(toFile: dir + "/sweep.json", atomically: true, encoding: .utf8)
        let config = dir + "/sweep.json", statePath = dir + "/state/state.sqlite"
        let coordinator = try ChildProcess(arguments: [podium, "sweep", config, "--quiet"], stdinPipe: false, stdoutPipe: false,
                                           stderr: .file(dir + "/sweep.log"))
        // Two slots: two runs live, two pending.
        var live = [RunRecord](), pending = [RunRecord]()
        let until = monotonicSeconds() + 60
        while monotonicSeconds() < until {
            if let s = try? StateStore(path: statePath), let runs = try? s.runs(sweep: "ops") {
                live = runs.filter { $0.state == .running }
                pending = runs.filter { $0.state == .pending }
                if live.count == 2 && pending.count == 2 { break }
            }
            sleepSeconds(0.2)
        }
        XCTAssertEqual(live.count, 2, "two attempts running")
        XCTAssertEqual(pending.count, 2)
        guard live.count == 2, pending.count == 2 else { kill(coordinator.pid, SIGKILL); return }

        // A second coordinator on the same state is refused (exit 2), naming the fix.
        let second = cli([podium, "sweep", config, "--quiet"])
        XCTAssertEqual(second.code, 2, second.out)
        // (capture() discards stderr; the exit code is the contract.)

        // Status sees the running coordinator and gives an ETA.
        let status = cli([podium, "status", config, "--format", "json"])
        XCTAssertEqual(status.code, 0)
        let obj = try JSONSerialization.jsonObject(with: Data(status.out.utf8)) as! [String: Any]
        XCTAssertEqual(obj["coordinator_running"] as? Bool, true)
        let eta = obj["eta"] as! [String: Any]
        XCTAssertEqual(eta["live_attempts"] as? Int, 2)
        XCTAssertGreaterThan(eta["eta_hours"] as? Double ?? 0, 0)

        // Cancel one live run (by id prefix) and one pending run: the coordinator carries both out.
        let cancel = cli([podium, "cancel", config, String(live[0].id.prefix(10)), pending[0].id])
        XCTAssertEqual(cancel.code, 0, cancel.out)
        XCTAssertTrue(cancel.out.contains("stopped on local"), cancel.out)
        XCTAssertTrue(cancel.out.contains("cancelled (was pending)"), cancel.out)
        // A running run cannot be retried; a cancelled one can (the live-cancelled one, now).
        let refused = cli([podium, "retry", config, live[1].id])
        XCTAssertTrue(refused.out.contains("not retried: the run is running"), refused.out)
        let retry = cli([podium, "retry", live[0].id, config])
        XCTAssertTrue(retry.out.contains("requeued (was cancelled)"), retry.out)

        XCTAssertEqual(coordinator.wait(timeout: 180), 0, (try? String(contentsOfFile: dir + "/sweep.log", encoding: .utf8)) ?? "")
        let store = try StateStore(path: statePath)
        let byID = Dictionary(uniqueKeysWithValues: try store.runs(sweep: "ops").map { ($0.id, $0) })
        XCTAssertEqual(byID[pending[0].id]?.state, .cancelled)
        XCTAssertEqual(byID[live[0].id]?.state, .completed, "the retried run ran again")
        XCTAssertEqual(byID[live[0].id]?.epoch, 2)
        let attempts = try store.attempts(runID: live[0].id)
        XCTAssertEqual(attempts.map(\.outcome), [.cancelled, .completed], "every attempt stays recorded")
        XCTAssertEqual(try store.attempts(runID: pending[0].id).count, 0, "the pending run never started")
        XCTAssertEqual(byID.values.filter { $0.state == .completed }.count, 3)

        // No coordinator now: retrying the cancelled-while-pending run is applied by the command itself.
        let offline = cli([podium, "retry", pending[0].id, "--config", config])
        XCTAssertTrue(offline.out.contains("requeued (was cancelled); `podium sweep` runs it"), offline.out)
        let idle = try JSONSerialization.jsonObject(with: Data(cli([podium, "status", config, "--format", "json"]).out.utf8)) as! [String: Any]
        XCTAssertEqual(idle["coordinator_running"] as? Bool, false)
        XCTAssertEqual((idle["runs"] as! [String: Int])["pending"], 1)
        XCTAssertTrue((idle["eta"] as! [String: Any])["eta_hours"] == nil || (idle["eta"] as! [String: Any])["eta_hours"] is NSNull,
                      "no live attempt and no coordinator: the ETA is unknown, not invented")
        XCTAssertEqual(cli([podium, "retry", "--all-failed", "--config", config]).out.trimmingCharacters(in: .whitespacesAndNewlines),
                       "nothing to retry: no failed run in ops")
        XCTAssertEqual(try store.integrityCheck(), "ok")
    }

    func testETAPacksPendingRunsOntoLiveSlots() {
        func run(_ id: String, _ state: RunState, hours: Int) -> RunRecord {
            var spec = RunSpec(sweep: "s", agent: "a", competition: id, budget: BudgetDuration(seconds: hours * 3600), profile: "p", attempt: 1)
            spec.id = id
            return RunRecord(spec: spec, sequence: 0, state: state, epoch: state == .pending ? 0 : 1, infraFailures: 0, node: "n")
        }
        let now = 1_000_000.0
        let runs = [run("a", .running, hours: 24), run("b", .running, hours: 24), run("c", .pending, hours: 100),
                    run("d", .pending, hours: 24), run("e", .completed, hours: 24)]
        let attempts = [AttemptRecord(runID: "a", epoch: 1, node: "n", outcome: nil, exitCode: nil, elapsedSeconds: nil, message: nil,
                                      logBytes: 0, dispatchedAt: now - 20 * 3600, startedAt: now - 20 * 3600),
                        AttemptRecord(runID: "b", epoch: 1, node: "n", outcome: nil, exitCode: nil, elapsedSeconds: nil, message: nil,
                                      logBytes: 0, dispatchedAt: now - 4 * 3600, startedAt: now - 4 * 3600)]
        let eta = SweepETA(runs: runs, attempts: attempts, now: now)
        XCTAssertEqual(eta.remainingRuns, 4)
        XCTAssertEqual(eta.liveAttempts, 2)
        // Slots free at 4 h and 20 h; c (100 h) goes to the 4 h slot → 104 h; d (24 h) to the 20 h slot → 44 h.
        XCTAssertEqual(eta.etaHours!, 104, accuracy: 1e-9)
        XCTAssertEqual(eta.remainingBudgetHours, 4 + 20 + 100 + 24, accuracy: 1e-9)
        let idle = SweepETA(runs: [run("c", .pending, hours: 1)], attempts: [], now: now)
        XCTAssertNil(idle.etaHours, "nothing live: unknown")
        XCTAssertEqual(SweepETA(runs: [run("e", .completed, hours: 1)], attempts: [], now: now).etaHours, 0)
    }

    func testOperatorDecisions() {
        XCTAssertEqual(OperatorRequests.decide(.cancel, state: .pending), .cancelPending)
        XCTAssertEqual(OperatorRequests.decide(.cancel, state: .running), .stopLive)
        XCTAssertEqual(OperatorRequests.decide(.cancel, state: .dispatched), .stopLive)
        XCTAssertEqual(OperatorRequests.decide(.retry, state: .failed), .retry)
        XCTAssertEqual(OperatorRequests.decide(.retry, state: .cancelled), .retry)
        for s in [RunState.completed, .pending, .running, .collecting, .grading] {
            guard case .close = OperatorRequests.decide(.retry, state: s) else { return XCTFail("retry in \(s) must be refused") }
        }
        for s in [RunState.completed, .failed, .cancelled, .collecting, .grading] {
            guard case .close = OperatorRequests.decide(.cancel, state: s) else { return XCTFail("cancel in \(s) must be refused") }
        }
    }
}
