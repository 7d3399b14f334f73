import XCTest
import PodiumCore
import PodiumProtocol
import PodiumScheduler
import PodiumStore
@testable import PodiumCoordinator

/// Lazy data (issue 18), one test per decision: a run placed where its data is not verified waits in `staging` and
/// its attempt starts only after the staging job answers; one job per competition and place; failures, absences and
/// restarts put the waiting runs back; eviction never names data in use.
final class DataStagingDecisionTests: InstanceTestCase {
    let gb: Int64 = 1_000_000_000

    func lazy(_ runs: [RunRecord], places: [String: Int] = ["p": 2], budget: Int64? = nil,
              recovered: (inout CoordinatorInstance.Recovered) -> Void = { _ in }) -> CoordinatorInstance {
        make(runs: runs, places: places, recovered: recovered) { c in
            for k in c.places.indices { c.places[k].dataCacheBytes = budget }
            c.dataBytes = ["c0": 10 * self.gb, "c1": 10 * self.gb, "c2": 10 * self.gb]
        }
    }

    func jobs(_ ds: [CoordinatorDirective]) -> [DataStageJob] {
        ds.compactMap { if case .stageData(let j) = $0 { return j } else { return nil } }
    }

    /// Two attempts of one competition: runs of c0 with attempts 1 and 2.
    func twoAttempts() -> [RunRecord] {
        expandGrid(sweep: "t", agent: "a", competitions: ["c0"], budgets: [BudgetDuration(seconds: 3600)], profiles: ["gpu"], attempts: 2)
            .enumerated().map { RunRecord(spec: $1, sequence: $0, state: .pending, epoch: 0, infraFailures: 0, node: nil) }
    }

    func testPlacedRunsWaitInStagingAndOneJobServesThemAll() {
        var i = lazy(twoAttempts())
        _ = i.start(now: 0)
        let ds = bringUp(&i, at: 1)
        XCTAssertTrue(starts(ds).isEmpty, "no attempt starts before its data is verified there")
        XCTAssertEqual(persisted(ds), [.stage, .stage])
        XCTAssertEqual(jobs(ds), [DataStageJob(place: "p", competition: "c0", bytes: 10 * gb, evict: [])], "staged once for both runs")
        XCTAssertEqual(i.runs.values.map(\.state), [.staging, .staging])
        // The stage is durable before the job goes out.
        let stageAt = ds.firstIndex { if case .persist(_, .stage, _, _, _) = $0 { return true } else { return false } }!
        let jobAt = ds.firstIndex { if case .stageData = $0 { return true } else { return false } }!
        XCTAssertLessThan(stageAt, jobAt)

        let done = i.on(.dataStaged(jobs(ds)[0], .ready(copied: 10 * gb)), now: 50)
        XCTAssertEqual(starts(done).count, 2, "both waiting runs start once the data is verified")
        XCTAssertEqual(records(done, "data_ready").count, 1)
        // A later run of the same competition on the same place starts at once.
        XCTAssertTrue(i.data.ready.contains(DataKey(place: "p", competition: "c0")))
    }

    func testStagingFailureIsAnInfraFailureAndRetriesLater() {
        var i = lazy(twoAttempts())
        _ = i.start(now: 0)
        let job = jobs(bringUp(&i, at: 1))[0]
        let failed = i.on(.dataStaged(job, .failed(reason: "x.csv does not match the coordinator's manifest", diskFull: false)), now: 10)
        XCTAssertEqual(persisted(failed), [.stagingFailed, .stagingFailed])
        XCTAssertTrue(starts(failed).isEmpty)
        XCTAssertTrue(i.runs.values.allSatisfy { $0.state == .pending && $0.infraFailures == 1 })
        XCTAssertEqual(records(failed, "data_stage_failed").count, 1)
        XCTAssertTrue(jobs(failed).isEmpty, "not retried at once")
        let later = i.on(.tick, now: 10 + i.config.retryBackoff + 0.1)
        XCTAssertEqual(jobs(later).count, 1, "after the backoff the runs are placed and the data staged again")
    }

    func testDiskFullWhileStagingDrainsThePlace() {
        var i = lazy(twoAttempts(), places: ["p": 2, "q": 2])
        _ = i.start(now: 0)
        let job = jobs(bringUp(&i, "p", at: 1))[0]
        let ds = i.on(.dataStaged(job, .failed(reason: "write: No space left on device", diskFull: true)), now: 5)
        XCTAssertTrue(i.drained.contains("p"))
        XCTAssertTrue(ds.contains { if case .warn(let w) = $0 { return w.contains("infrastructure fault, not the agent's") } else { return false } })
    }

    func testPlaceGoingAwayPutsItsWaitingRunsBack() {
        var i = lazy(twoAttempts(), places: ["p": 2, "q": 2])
        _ = i.start(now: 0)
        let job = jobs(bringUp(&i, "p", at: 1))[0]
        let gone = i.on(.placeUnreachable(place: "p", generation: 1, reason: "reset"), now: 2)
        XCTAssertEqual(persisted(gone), [.unstage, .unstage])
        XCTAssertEqual(i.runs.values.map(\.state), [.pending, .pending])
        // The late answer of the job that was under way does not start anything on the absent place.
        let late = i.on(.dataStaged(job, .ready(copied: 1)), now: 3)
        XCTAssertTrue(starts(late).isEmpty)
        XCTAssertLessThanOrEqual(i.nextDeadline() ?? .infinity, 2, "requeued at once (the next tick)")
        let other = bringUp(&i, "q", at: 4) + i.on(.tick, now: 4)
        XCTAssertEqual(jobs(other).map(\.place), ["q"])
    }

    func testRestartPutsStagingRunsBackBeforePlacing() {
        let runs = twoAttempts().map { r -> RunRecord in var r = r; r.state = .staging; r.node = "p"; return r }
        var i = lazy(runs) { $0.dataHeld = ["p": ["c0": 10 * self.gb]] }
        let ds = i.start(now: 0)
        XCTAssertEqual(persisted(ds), [.unstage, .unstage])
        XCTAssertEqual(i.scheduler.cached(on: "p").keys.sorted(), ["c0"], "what the state says the place holds guides placement")
        let up = bringUp(&i, at: 1)
        XCTAssertEqual(jobs(up).map(\.competition), ["c0"], "verified again (cheap when whole) before the first run uses it")
    }

    func testEvictionNamesOnlyDataNoRunUses() {
        // A cache for one competition: c0's data is held, c1's run comes; c0 is evicted only once no run uses it.
        let runs = expandGrid(sweep: "t", agent: "a", competitions: ["c0", "c1"], budgets: [BudgetDuration(seconds: 3600)],
                              profiles: ["gpu"], attempts: 1)
            .enumerated().map { RunRecord(spec: $1, sequence: $0, state: .pending, epoch: 0, infraFailures: 0, node: nil) }
        var i = lazy(runs, places: ["p": 2], budget: 15 * gb)
        _ = i.start(now: 0)
        let first = bringUp(&i, at: 1)
        XCTAssertEqual(jobs(first).map(\.competition), ["c0"], "c1 does not fit beside c0 in use")
        let started = i.on(.dataStaged(jobs(first)[0], .ready(copied: 10 * gb)), now: 10)
        let key = starts(started)[0]
        _ = i.on(.reply(place: "p", .started(runID: key.runID, epoch: key.epoch, container: "x")), now: 11)
        XCTAssertTrue(jobs(i.on(.tick, now: 12)).isEmpty, "c1 waits while c0's run is live")
        let result = AttemptResult(outcome: .agentError, exitCode: 1, elapsedSeconds: 5, message: nil, snapshots: [],
                                   submissionSHA256: nil, logBytes: 0, gpus: [])
        let ended = i.on(.reply(place: "p", .finished(runID: key.runID, epoch: key.epoch, result: result)), now: 20)
        XCTAssertEqual(jobs(ended), [DataStageJob(place: "p", competition: "c1", bytes: 10 * gb, evict: ["c0"])])
    }

    func testCancelWhileStagingReleasesTheRun() {
        var i = lazy(twoAttempts())
        _ = i.start(now: 0)
        _ = bringUp(&i, at: 1)
        let victim = i.runs.values.sorted { $0.sequence < $1.sequence }[0]
        let ds = i.on(.operatorRequests([OperatorRequest(seq: 1, runID: victim.id, kind: .cancel, at: 0)]), now: 2)
        XCTAssertEqual(persisted(ds), [.cancel])
        XCTAssertTrue(ds.contains { if case .markHandled(_, let o) = $0 { return o == "cancelled (was staging)" } else { return false } })
        XCTAssertEqual(i.runs[victim.id]?.state, .cancelled)
        XCTAssertEqual(i.data.waitingOn[victim.id], nil)
    }

    /// Every run the scheduler has placed is one the instance acted on (staging or an attempt): a placement the instance
    /// never carried out leaves a run pending for ever while the scheduler holds its resources.
    func assertEveryPlacementCarriedOut(_ i: CoordinatorInstance, file: StaticString = #filePath, line: UInt = #line) {
        for (id, p) in i.scheduler.placed.sorted(by: { $0.key < $1.key }) {
            let state = i.runs[id]?.state
            XCTAssertTrue(state == .staging || state?.hasLiveAttempt == true,
                          "the scheduler placed \(id) on \(p.node), but the run is \(state.map { $0.rawValue } ?? "unknown")", file: file, line: line)
        }
    }

    /// A staging failure drops the data from the placement model, which can place waiting runs at once (their
    /// competition's data may now fit there): those placements are carried out, not lost. Two DST seeds (938, 2632)
    /// found runs the scheduler had placed this way and the instance never dispatched: pending for ever.
    func testPlacementsMadeWhenAStagingFailureDropsDataAreCarriedOut() {
        // p holds c1 (its two runs wait: p has one GPU); q's cache fits one competition and takes c0.
        let runs = expandGrid(sweep: "t", agent: "a", competitions: ["c0", "c1"], budgets: [BudgetDuration(seconds: 3600)],
                              profiles: ["gpu"], attempts: 3)
            .enumerated().map { RunRecord(spec: $1, sequence: $0, state: .pending, epoch: 0, infraFailures: 0, node: nil) }
        var i = lazy(runs, places: ["p": 1, "q": 2], budget: 15 * gb)
        _ = i.start(now: 0)
        var ds = bringUp(&i, "p", at: 1) + bringUp(&i, "q", at: 1)
        assertEveryPlacementCarriedOut(i)
        for _ in 0..<4 {
            guard let job = jobs(ds).first(where: { $0.place == "q" }) else { break }
            ds = i.on(.dataStaged(job, .failed(reason: "sha256 of a file differs", diskFull: false)), now: 10)
            assertEveryPlacementCarriedOut(i)
            ds += i.on(.tick, now: 10 + 64 * i.config.retryBackoff)
            assertEveryPlacementCarriedOut(i)
        }
        XCTAssertTrue(i.runs.values.contains { $0.state == .staging && $0.node == "q" }, "q stages data again after its failure")
    }
}
