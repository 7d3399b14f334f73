import XCTest
import PodiumCore
import PodiumProtocol
import PodiumScheduler
import PodiumStore
@testable import PodiumCoordinator

/// Builds instances and reads their directives, for the decision tests.
class InstanceTestCase: XCTestCase {
    static let one = Resources(gpus: 1, cpus: 1, memoryBytes: 1 << 30)

    func specs(_ n: Int, budget: Int = 3600) -> [RunSpec] {
        expandGrid(sweep: "t", agent: "a", competitions: (0..<n).map { "c\($0)" }, budgets: [BudgetDuration(seconds: budget)],
                   profiles: ["gpu"], attempts: 1)
    }

    func make(runs: [RunRecord], places: [String: Int] = ["p": 1], lostAfter: Double = 600,
              recovered: (inout CoordinatorInstance.Recovered) -> Void = { _ in },
              configure: (inout CoordinatorInstance.Config) -> Void = { _ in }) -> CoordinatorInstance {
        var c = CoordinatorInstance.Config(
            sweep: "t", places: places.keys.sorted().map { .init(name: $0, capacity: Resources(gpus: places[$0]!, cpus: 8, memoryBytes: 1 << 40), gpuModel: nil) },
            needs: ["gpu": .init(resources: Self.one, gpuModel: nil)])
        c.lostAfter = lostAfter
        configure(&c)
        var rec = CoordinatorInstance.Recovered(runs: runs)
        recovered(&rec)
        return CoordinatorInstance(config: c, recovered: rec)
    }

    func pending(_ n: Int) -> [RunRecord] {
        specs(n).enumerated().map { RunRecord(spec: $1, sequence: $0, state: .pending, epoch: 0, infraFailures: 0, node: nil) }
    }

    func offer(_ gpus: Int = 1) -> PlaceOffer { PlaceOffer(gpus: gpus, gpuModel: nil, workerVersion: "t", runtime: "process") }

    /// Connects a place and answers its `list` with `held`; returns every directive on the way.
    func bringUp(_ i: inout CoordinatorInstance, _ place: String = "p", generation: Int = 1, held: [HeldAttempt] = [], at t: Double) -> [CoordinatorDirective] {
        let gpus = i.config.places.first { $0.name == place }?.capacity.gpus ?? 1
        var ds = i.on(.placeConnected(place: place, generation: generation, offer: offer(gpus)), now: t)
        ds += i.on(.reply(place: place, .held(held)), now: t)
        return ds
    }

    func starts(_ ds: [CoordinatorDirective]) -> [AttemptKey] {
        ds.compactMap { if case .start(let k, _) = $0 { return k } else { return nil } }
    }
    func sends(_ ds: [CoordinatorDirective]) -> [Request] {
        ds.compactMap { if case .send(_, let r) = $0 { return r } else { return nil } }
    }
    func persisted(_ ds: [CoordinatorDirective]) -> [RunEvent] {
        ds.compactMap { if case .persist(_, let e, _, _, _) = $0 { return e } else { return nil } }
    }
    func records(_ ds: [CoordinatorDirective], _ kind: String) -> [String] {
        ds.compactMap { if case .record(let k, _, _, let d) = $0, k == kind { return d } else { return nil } }
    }

}

/// The coordinator's decisions, one test per decision, with no Docker, no sshd, no threads and no clock: events in
/// with the time, directives out.
final class InstanceTests: InstanceTestCase {
    // MARK: start and placement

    func testStartConnectsEveryPlaceAndPlacesOnlyAfterReconcile() {
        var i = make(runs: pending(2), places: ["a": 1, "b": 1])
        let ds = i.start(now: 0)
        XCTAssertEqual(ds.filter { if case .connect = $0 { return true } else { return false } }.count, 2)
        XCTAssertTrue(starts(ds).isEmpty, "nothing is placed before a place is up")
        let connected = i.on(.placeConnected(place: "a", generation: 1, offer: offer()), now: 1)
        XCTAssertTrue(starts(connected).isEmpty, "a place takes work only after its held attempts are matched")
        XCTAssertEqual(sends(connected), [.list])
        let held = i.on(.reply(place: "a", .held([])), now: 1)
        XCTAssertEqual(starts(held).count, 1, "one GPU, one run")
        // The dispatch is made durable before its start request goes out.
        let persistAt = held.firstIndex { if case .persist(_, .dispatch(epoch: 1), _, _, _) = $0 { return true } else { return false } }
        let startAt = held.firstIndex { if case .start = $0 { return true } else { return false } }
        XCTAssertNotNil(persistAt)
        XCTAssertLessThan(persistAt!, startAt!)
    }

    func testNoPlaceReachableAtStartAborts() {
        var i = make(runs: pending(1), places: ["a": 1, "b": 1])
        _ = i.start(now: 0)
        let first = i.on(.placeUnreachable(place: "a", generation: nil, reason: "refused"), now: 1)
        XCTAssertFalse(first.contains { if case .abort = $0 { return true } else { return false } })
        let second = i.on(.placeUnreachable(place: "b", generation: nil, reason: "timed out"), now: 1)
        guard case .abort(let message)? = second.last else { return XCTFail("\(second)") }
        XCTAssertTrue(message.contains("no node could be reached") && message.contains("a: refused") && message.contains("b: timed out"), message)
    }

    // MARK: reconnection and lost_after

    func testReconnectBackoffDoublesToItsCeiling() {
        var i = make(runs: pending(1), configure: { $0.reconnectInitial = 2; $0.reconnectMax = 8 })
        _ = i.start(now: 0)
        _ = bringUp(&i, at: 0)
        var ds = i.on(.placeUnreachable(place: "p", generation: 1, reason: "reset"), now: 10)
        XCTAssertEqual(records(ds, "node_down").count, 1)
        var connects = [Double]()
        var t = 10.0
        while t < 60 {
            t += 0.5
            ds = i.on(.tick, now: t)
            if ds.contains(where: { if case .connect = $0 { return true } else { return false } }) {
                connects.append(t)
                _ = i.on(.placeUnreachable(place: "p", generation: nil, reason: "refused"), now: t)
            }
        }
        XCTAssertEqual(zip(connects.dropFirst(), connects).map { $0 - $1 }, [4, 8, 8, 8, 8, 8], "2 s, 4 s, then the 8 s ceiling: \(connects)")
        XCTAssertEqual(connects.first, 12)
    }

    func testLateNoticeOfAnOldConnectionIsIgnored() {
        var i = make(runs: pending(1))
        _ = i.start(now: 0)
        _ = bringUp(&i, generation: 2, at: 0)
        let ds = i.on(.placeUnreachable(place: "p", generation: 1, reason: "old connection closed"), now: 1)
        XCTAssertTrue(ds.isEmpty, "\(ds)")
        XCTAssertEqual(i.connectedPlaces, ["p"])
    }

    func testLostAfterRequeuesLiveAttemptsElsewhereButNotBefore() {
        var i = make(runs: pending(1), places: ["a": 1, "b": 1], lostAfter: 600)
        _ = i.start(now: 0)
        let placed = bringUp(&i, "a", at: 0)
        XCTAssertEqual(starts(placed).count, 1)
        let runID = starts(placed)[0].runID
        _ = i.on(.reply(place: "a", .started(runID: runID, epoch: 1, container: "c")), now: 1)
        _ = i.on(.placeUnreachable(place: "a", generation: 1, reason: "reset"), now: 100)
        XCTAssertTrue(persisted(i.on(.tick, now: 699)).isEmpty, "599 s: the attempt may well run on; nothing is requeued")
        let lost = i.on(.tick, now: 700)
        XCTAssertEqual(persisted(lost), [.finished(.lost)])
        XCTAssertEqual(i.runs[runID]?.state, .pending)
        XCTAssertEqual(i.runs[runID]?.infraFailures, 1)
        // Requeued at once (no backoff: it already waited lost_after); b takes it as epoch 2.
        var ds = i.on(.tick, now: 700.5)
        ds += bringUp(&i, "b", generation: 2, at: 701)
        XCTAssertEqual(starts(ds), [AttemptKey(runID, 2)])
    }

    func testCollectingAttemptOnASilentPlaceIsRequeuedAfterLostAfter() {
        var run = pending(1)[0]
        run.state = .collecting
        run.epoch = 1
        var i = make(runs: [run], lostAfter: 60) { $0.attemptPlaces = [run.id: "p"] }
        _ = i.start(now: 0)
        _ = i.on(.placeUnreachable(place: "p", generation: nil, reason: "refused"), now: 0)
        XCTAssertEqual(persisted(i.on(.tick, now: 61)), [.finished(.lost)], "the sweep does not wait forever for a place that never returns")
    }

    // MARK: reconcile

    func testReconcileAdoptsCollectsLosesAndFences() {
        let s = specs(4)
        let live = RunRecord(spec: s[0], sequence: 0, state: .running, epoch: 1, infraFailures: 0, node: "p")
        let gone = RunRecord(spec: s[1], sequence: 1, state: .dispatched, epoch: 1, infraFailures: 0, node: "p")
        let ended = RunRecord(spec: s[2], sequence: 2, state: .running, epoch: 2, infraFailures: 0, node: "p")
        let moved = RunRecord(spec: s[3], sequence: 3, state: .pending, epoch: 3, infraFailures: 1, node: nil)
        var i = make(runs: [live, gone, ended, moved], places: ["p": 4]) {
            $0.logBytes = [AttemptKey(live.id, 1): 4096]
            $0.attemptPlaces = [live.id: "p", gone.id: "p", ended.id: "p", moved.id: "q"]
        }
        _ = i.start(now: 0)
        let result = AttemptResult(outcome: .completed, exitCode: 0, elapsedSeconds: 50, message: nil, snapshots: [], submissionSHA256: nil, logBytes: 10)
        let held = [HeldAttempt(runID: live.id, epoch: 1, running: true),
                    HeldAttempt(runID: ended.id, epoch: 2, running: false, result: result),
                    HeldAttempt(runID: moved.id, epoch: 2, running: true),
                    HeldAttempt(runID: "unknown", epoch: 1, running: false, result: result)]
        let ds = bringUp(&i, held: held, at: 5)
        XCTAssertEqual(records(ds, "adopted").count, 2)
        XCTAssertTrue(sends(ds).contains(.streamLog(runID: live.id, epoch: 1, from: 4096)), "the log resumes where the central copy ends")
        XCTAssertEqual(i.runs[gone.id]?.infraFailures, 1, "an attempt the place no longer holds is lost")
        XCTAssertEqual(i.runs[moved.id]?.epoch, 4, "a pending run is placed once the place is matched")
        _ = i.on(.tick, now: 5)
        XCTAssertEqual(i.runs[gone.id]?.epoch, 2, "the lost one runs again as a new epoch (requeued without backoff)")
        XCTAssertEqual(i.runs[ended.id]?.state, .collecting, "an attempt that ended meanwhile is collected")
        XCTAssertTrue(sends(ds).contains(.fetchArtifacts(runID: ended.id, epoch: 2, logBytes: 0)))
        XCTAssertTrue(sends(ds).contains(.cancel(runID: moved.id, epoch: 2)), "a stale epoch still running is fenced")
        XCTAssertEqual(records(ds, "fenced").count, 1)
        XCTAssertTrue(sends(ds).contains(.acknowledge(runID: "unknown", epoch: 1)), "a finished attempt nobody expects is cleaned up")
    }

    func testStartedReplyOfAStaleEpochIsCancelled() {
        var run = pending(1)[0]
        run.state = .running
        run.epoch = 3
        run.node = "p"
        var i = make(runs: [run]) { $0.attemptPlaces = [run.id: "p"] }
        _ = i.start(now: 0)
        _ = bringUp(&i, held: [HeldAttempt(runID: run.id, epoch: 3, running: true)], at: 0)
        let ds = i.on(.reply(place: "p", .started(runID: run.id, epoch: 2, container: "old")), now: 1)
        XCTAssertEqual(sends(ds), [.cancel(runID: run.id, epoch: 2)])
        XCTAssertEqual(records(ds, "stale_reply").count, 1)
        let finished = AttemptResult(outcome: .completed, exitCode: 0, elapsedSeconds: 1, message: nil, snapshots: [], submissionSHA256: nil, logBytes: 0)
        XCTAssertTrue(persisted(i.on(.reply(place: "p", .finished(runID: run.id, epoch: 2, result: finished)), now: 2)).isEmpty,
                      "a stale attempt's result never becomes the run's")
        XCTAssertEqual(i.runs[run.id]?.state, .running)
    }
}

/// Issue 21: "node a is unreachable …; retrying" then "no node could be reached" 0.1 s later contradicted each other.
final class StartupMessagesTests: InstanceTestCase {
    func warnings(_ ds: [CoordinatorDirective]) -> [String] { ds.compactMap { if case .warn(let s) = $0 { return s } else { return nil } } }
    func aborts(_ ds: [CoordinatorDirective]) -> [String] { ds.compactMap { if case .abort(let s) = $0 { return s } else { return nil } } }

    func testNoRetryingBeforeAbortAndRetryingOnceANodeIsUp() {
        var i = make(runs: pending(2), places: ["a": 1, "b": 1])
        var ds = i.start(now: 0)
        ds += i.on(.placeUnreachable(place: "a", generation: nil, reason: "connection refused"), now: 0.1)
        ds += i.on(.placeUnreachable(place: "b", generation: nil, reason: "no route to host"), now: 0.2)
        XCTAssertTrue(warnings(ds).allSatisfy { !$0.contains("retrying") }, "\(warnings(ds))")
        XCTAssertEqual(aborts(ds).count, 1)
        XCTAssertTrue(aborts(ds)[0].contains("a: connection refused") && aborts(ds)[0].contains("b: no route to host"))

        var j = make(runs: pending(2), places: ["a": 1, "b": 1])
        var es = j.start(now: 0)
        es += j.on(.placeUnreachable(place: "a", generation: nil, reason: "connection refused"), now: 0.1)
        XCTAssertTrue(warnings(es).allSatisfy { !$0.contains("retrying") })
        es = bringUp(&j, "b", at: 0.2)
        XCTAssertEqual(warnings(es).filter { $0.contains("node a is unreachable (connection refused); retrying") }.count, 1, "\(warnings(es))")
        XCTAssertTrue(aborts(es).isEmpty)
        // Later failures say "retrying" at once.
        es = j.on(.placeUnreachable(place: "b", generation: 1, reason: "reset"), now: 5)
        XCTAssertEqual(warnings(es).filter { $0.contains("node b is unreachable (reset); retrying") }.count, 1)
    }

    /// A changed host key or a refused key during a sweep never clears by itself: the place is drained with a loud,
    /// recorded reason (not retried in silence), and the runs go to the other places.
    func testRefusedConnectionDrainsThePlaceLoudly() {
        let runs = specs(2).enumerated().map { RunRecord(spec: $1, sequence: $0, state: .pending, epoch: 0, infraFailures: 0, node: nil) }
        var i = make(runs: runs, places: ["p": 1, "q": 1])
        _ = i.start(now: 0)
        let ds = i.on(.placeRefused(place: "p", reason: "REMOTE HOST KEY HAS CHANGED — refusing to connect"), now: 1)
        XCTAssertTrue(i.drained.contains("p"))
        XCTAssertEqual(records(ds, "node_drained").count, 1)
        XCTAssertTrue(ds.contains { if case .warn(let w) = $0 { return w.contains("drained") && w.contains("HOST KEY HAS CHANGED") } else { return false } })
        let up = bringUp(&i, "q", at: 2)
        XCTAssertEqual(starts(up).count, 1, "q takes work; p does not")
        XCTAssertTrue(starts(bringUp(&i, "p", generation: 2, at: 3)).isEmpty, "a drained place takes no work even when it answers again")
    }
}
