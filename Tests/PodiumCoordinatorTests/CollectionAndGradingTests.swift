import XCTest
import PodiumCore
import PodiumProtocol
import PodiumScheduler
import PodiumStore
@testable import PodiumCoordinator
import PodiumSystem

/// Collection (checks off the loop, the log refetched whole once), draining, grading (finals complete runs, nothing
/// graded twice across a restart) and operator requests.
final class CollectionAndGradingTests: InstanceTestCase {
    /// A run whose attempt 1 ended on p and is being collected, with p connected and reconciled.
    func collecting(streamed: Int64 = 1000) -> (CoordinatorInstance, RunRecord, AttemptKey) {
        var run = pending(1)[0]
        run.state = .running
        run.epoch = 1
        run.node = "p"
        var i = make(runs: [run]) { $0.attemptPlaces = [run.id: "p"]; $0.logBytes = [AttemptKey(run.id, 1): streamed] }
        _ = i.start(now: 0)
        _ = bringUp(&i, held: [HeldAttempt(runID: run.id, epoch: 1, running: true)], at: 0)
        let result = AttemptResult(outcome: .completed, exitCode: 0, elapsedSeconds: 30, message: nil, snapshots: [], submissionSHA256: "s", logBytes: 2000)
        let ds = i.on(.reply(place: "p", .finished(runID: run.id, epoch: 1, result: result)), now: 30)
        XCTAssertTrue(ds.contains(.closeLog(AttemptKey(run.id, 1), bytes: streamed)))
        XCTAssertTrue(sends(ds).contains(.fetchArtifacts(runID: run.id, epoch: 1, logBytes: streamed)), "only the log's rest is asked for")
        return (i, run, AttemptKey(run.id, 1))
    }

    func artifact(_ name: String, _ key: AttemptKey) -> StoredArtifact {
        StoredArtifact(name: name, sha256: "x", bytes: 1, path: "/c/\(key)/\(name)", elapsedSeconds: name.hasPrefix("snapshots/") ? 60 : nil)
    }

    func testCollectedOnlyWhenEveryCheckIsAnsweredThenGradedFinalFirst() {
        var (i, run, key) = collecting()
        _ = i.on(.reply(place: "p", .file(runID: run.id, epoch: 1, name: "submission/submission.csv", sha256: "x", data: Data("a".utf8))), now: 31)
        _ = i.on(.reply(place: "p", .file(runID: run.id, epoch: 1, name: "snapshots/t0000060-a.csv", sha256: "x", data: Data("b".utf8))), now: 31)
        _ = i.on(.reply(place: "p", .fileEnd(runID: run.id, epoch: 1, name: "agent.log", sha256: "l", bytes: 2000)), now: 31)
        XCTAssertTrue(persisted(i.on(.reply(place: "p", .artifactsDone(runID: run.id, epoch: 1, count: 3)), now: 32)).isEmpty,
                      "three checks are still out: not collected yet")
        _ = i.on(.storageChecked(key, .stored(artifact("submission/submission.csv", key))), now: 33)
        _ = i.on(.storageChecked(key, .stored(artifact("snapshots/t0000060-a.csv", key))), now: 33)
        let done = i.on(.storageChecked(key, .verified(artifact("agent.log", key))), now: 34)
        XCTAssertEqual(persisted(done), [.collected])
        XCTAssertEqual(records(done, "log_verified").count, 1)
        let jobs = done.compactMap { if case .grade(let j) = $0 { return j } else { return nil } }
        XCTAssertEqual(jobs.map(\.artifact), ["submission/submission.csv", "snapshots/t0000060-a.csv"])
        XCTAssertTrue(sends(done).contains(.acknowledge(runID: run.id, epoch: 1)))
        XCTAssertFalse(i.isDone, "grades are still out")
        let record = GradeRecord(runID: run.id, epoch: 1, artifact: "submission/submission.csv", isFinal: true, elapsedSeconds: nil, score: 0.9,
                                 submissionExists: true, valid: true, anyMedal: true, gold: true, silver: false, bronze: false, aboveMedian: true, reportJSON: "{}")
        let graded = i.on(.graded(jobs[0], record, summary: "score 0.9, gold"), now: 40)
        XCTAssertEqual(persisted(graded), [.graded], "the final grade completes the run")
        XCTAssertTrue(i.on(.graded(jobs[0], record, summary: ""), now: 41).isEmpty, "an answer twice is recorded once")
        var snap = record
        snap.artifact = jobs[1].artifact
        snap.isFinal = false
        _ = i.on(.graded(jobs[1], snap, summary: ""), now: 42)
        XCTAssertTrue(i.isDone)
    }

    func testLogDifferingFromTheNodesIsRefetchedWholeOnceThenMarkedCorrupt() {
        var (i, run, key) = collecting()
        _ = i.on(.reply(place: "p", .fileEnd(runID: run.id, epoch: 1, name: "agent.log", sha256: "l", bytes: 2000)), now: 31)
        _ = i.on(.reply(place: "p", .artifactsDone(runID: run.id, epoch: 1, count: 1)), now: 31)
        let mismatch = i.on(.storageChecked(key, .logMismatch(centralBytes: 1990, nodeBytes: 2000)), now: 32)
        XCTAssertEqual(records(mismatch, "log_repaired").count, 1)
        XCTAssertTrue(mismatch.contains(.resetLog(key)))
        XCTAssertTrue(sends(mismatch).contains(.fetchArtifacts(runID: run.id, epoch: 1, logBytes: 0)), "the whole log again")
        XCTAssertTrue(persisted(mismatch).isEmpty, "not collected from the first pass")
        _ = i.on(.reply(place: "p", .fileEnd(runID: run.id, epoch: 1, name: "agent.log", sha256: "l", bytes: 2000)), now: 33)
        _ = i.on(.reply(place: "p", .artifactsDone(runID: run.id, epoch: 1, count: 1)), now: 33)
        let again = i.on(.storageChecked(key, .logMismatch(centralBytes: 1990, nodeBytes: 2000)), now: 34)
        XCTAssertEqual(records(again, "artifact_corrupt").count, 1)
        XCTAssertEqual(persisted(again), [.collected], "a second mismatch is recorded, the run goes on to grading")
    }

    func testDiskFullOnAPlaceDrainsItBeforeItsSlotIsReused() {
        var i = make(runs: pending(2))
        _ = i.start(now: 0)
        let placed = starts(bringUp(&i, at: 0))
        XCTAssertEqual(placed.count, 1)
        var result = AttemptResult(outcome: .infraError, exitCode: 1, elapsedSeconds: 5, message: "disk full", snapshots: [], submissionSHA256: nil, logBytes: 0)
        result.nodeDiskFull = true
        _ = i.on(.reply(place: "p", .started(runID: placed[0].runID, epoch: 1, container: "c")), now: 1)
        let ds = i.on(.reply(place: "p", .finished(runID: placed[0].runID, epoch: 1, result: result)), now: 6)
        XCTAssertEqual(records(ds, "node_drained").count, 1)
        XCTAssertTrue(starts(ds).isEmpty, "the freed slot of a full place goes to no one")
        XCTAssertTrue(starts(i.on(.tick, now: 100)).isEmpty, "nor after the retry backoff")
    }

    func testInfraRetriesBackOffExponentially() {
        var i = make(runs: pending(1), configure: { $0.retryBackoff = 5; $0.maxInfraRetries = 5 })
        _ = i.start(now: 0)
        var key = starts(bringUp(&i, at: 0))[0]
        var t = 0.0
        var waits = [Double]()
        for _ in 0..<3 {
            _ = i.on(.reply(place: "p", .error(runID: key.runID, message: "image missing")), now: t)
            let failedAt = t
            while true {
                t += 0.5
                if let k = starts(i.on(.tick, now: t)).first { key = k; break }
            }
            waits.append(t - failedAt)
        }
        XCTAssertEqual(waits, [5, 10, 20])
        XCTAssertEqual(key.epoch, 4)
    }

    func testGradedBeforeARestartIsNotGradedAgain() {
        var run = pending(1)[0]
        run.state = .grading
        run.epoch = 2
        let key = AttemptKey(run.id, 2)
        var i = make(runs: [run]) {
            $0.artifacts = [key: [self.artifact("submission/submission.csv", key), self.artifact("snapshots/t0000060-a.csv", key)]]
            $0.graded = [key: ["submission/submission.csv"]]
        }
        let ds = i.start(now: 0)
        XCTAssertEqual(persisted(ds), [.graded], "the recorded final grade stands")
        XCTAssertEqual(ds.compactMap { if case .grade(let j) = $0 { return j.artifact } else { return nil } }, ["snapshots/t0000060-a.csv"])
    }

    func testOperatorCancelAndRetry() {
        var i = make(runs: pending(3), places: ["p": 1])
        _ = i.start(now: 0)
        let live = starts(bringUp(&i, at: 0))[0]
        _ = i.on(.reply(place: "p", .started(runID: live.runID, epoch: 1, container: "c")), now: 1)
        let waiting = i.runs.values.filter { $0.state == .pending }.map(\.id).sorted()
        let req = { (seq: Int64, id: String, kind: StateStore.OperatorRequest.Kind) in StateStore.OperatorRequest(seq: seq, runID: id, kind: kind, at: 0) }
        let ds = i.on(.operatorRequests([req(1, live.runID, .cancel), req(2, waiting[0], .cancel), req(3, waiting[1], .retry)]), now: 2)
        XCTAssertTrue(sends(ds).contains(.cancel(runID: live.runID, epoch: 1)), "the live attempt is stopped on its place")
        XCTAssertEqual(i.runs[live.runID]?.state, .cancelled)
        XCTAssertEqual(i.runs[waiting[0]]?.state, .cancelled)
        XCTAssertEqual(starts(ds).map(\.runID), [waiting[1]], "the freed slot goes to the run the batch did not cancel")
        let outcomes = ds.compactMap { if case .markHandled(let s, let o) = $0 { return "\(s): \(o)" } else { return nil } }
        // Pending runs first (as the batch found them), so a freed slot never goes to a run the same batch cancels.
        XCTAssertEqual(outcomes, ["2: cancelled (was pending)", "3: not retried: the run is pending, not failed or cancelled",
                                  "1: cancelled; attempt 1 stopped on p"])
        let retry = i.on(.operatorRequests([req(4, waiting[0], .retry)]), now: 3)
        XCTAssertEqual(i.runs[waiting[0]]?.state, .pending)
        XCTAssertTrue(retry.contains(.markHandled(seq: 4, outcome: "requeued (was cancelled)")))
    }

    func testDecisionsReadNoClock() throws {
        // The instance's sources call no clock: time only comes in with each event.
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/PodiumCoordinator/Instance").path
        for f in try FileManager.default.contentsOfDirectory(atPath: dir) {
            let text = try String(contentsOfFile: dir + "/" + f, encoding: .utf8)
            for clock in ["monotonicSeconds()", "wallClockSeconds()", "Date()", "clock_gettime", "ContinuousClock"] {
                XCTAssertFalse(text.contains(clock), "\(f) reads a clock (\(clock))")
            }
        }
    }
}
