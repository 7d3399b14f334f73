import XCTest
@testable import PodiumCore

final class RunLifecycleTests: XCTestCase {
    let events: [RunEvent] = [.stage, .unstage, .stagingFailed, .dispatch(epoch: 1), .started, .collected, .graded, .cancel, .retry]
        + AttemptOutcome.allCases.map { .finished($0) }

    /// The complete table of legal transitions; every other (state, event) pair must throw.
    func expected(_ state: RunState, _ event: RunEvent) -> RunState? {
        switch (state, event) {
        case (.pending, .stage): return .staging
        case (.staging, .unstage), (.staging, .stagingFailed): return .pending  // (one infra failure of 3 allowed)
        case (.pending, .dispatch), (.staging, .dispatch): return .dispatched
        case (.pending, .cancel), (.staging, .cancel), (.dispatched, .cancel), (.running, .cancel): return .cancelled
        case (.dispatched, .started): return .running
        case (.dispatched, .finished(.infraError)), (.dispatched, .finished(.lost)),
             (.running, .finished(.infraError)), (.running, .finished(.lost)): return .pending
        case (.dispatched, .finished(.cancelled)), (.running, .finished(.cancelled)): return .cancelled
        case (.dispatched, .finished(.nodeBusy)): return .pending  // the node refused the start: nothing ran
        case (.running, .finished(let o)) where o.isResult: return .collecting
        case (.collecting, .collected): return .grading
        case (.collecting, .finished(.lost)): return .pending  // the node lost the artifacts before they were collected
        case (.grading, .graded): return .completed
        case (.failed, .retry), (.cancelled, .retry): return .pending
        default: return nil
        }
    }

    func testEveryStateAndEvent() {
        for state in RunState.allCases {
            for event in events {
                var m = RunLifecycle(state: state, epoch: 0)
                let want = expected(state, event)
                do {
                    let got = try m.apply(event)
                    XCTAssertEqual(got, want, "\(state) + \(event)")
                } catch {
                    XCTAssertNil(want, "\(state) + \(event) should be legal but threw \(error)")
                    XCTAssertEqual(m.state, state, "a refused event leaves the state unchanged")
                }
            }
        }
    }

    func testEpochsMustIncrease() throws {
        var m = RunLifecycle()
        try m.apply(.dispatch(epoch: 1))
        try m.apply(.finished(.infraError))
        XCTAssertThrowsError(try m.apply(.dispatch(epoch: 1)), "a stale epoch is fenced")
        try m.apply(.dispatch(epoch: 2))
        XCTAssertEqual(m.epoch, 2)
    }

    func testNodeBusyWaitsAgainWithoutSpendingARetry() throws {
        var m = RunLifecycle(maxInfraRetries: 0)
        for epoch in 1...5 {
            try m.apply(.dispatch(epoch: epoch))
            try m.apply(.finished(.nodeBusy))
        }
        XCTAssertEqual(m.state, .pending)
        XCTAssertEqual(m.infraFailures, 0)
        XCTAssertEqual(m.epoch, 5, "each refused start was an attempt of its own epoch")
    }

    func testInfraRetriesAreBounded() throws {
        var m = RunLifecycle(maxInfraRetries: 2)
        for epoch in 1...3 {
            try m.apply(.dispatch(epoch: epoch))
            try m.apply(.started)
            try m.apply(.finished(.infraError))
        }
        XCTAssertEqual(m.state, .failed)
        XCTAssertEqual(m.infraFailures, 3)
        try m.apply(.retry)
        XCTAssertEqual(m.state, .pending)
        XCTAssertEqual(m.infraFailures, 0)
    }

    func testAgentFailuresAreResultsNotRetries() throws {
        for outcome in [AttemptOutcome.agentError, .timedOut, .oomKilled, .completed] {
            var m = RunLifecycle()
            try m.apply(.dispatch(epoch: 1))
            try m.apply(.started)
            XCTAssertEqual(try m.apply(.finished(outcome)), .collecting)
            XCTAssertEqual(m.infraFailures, 0)
        }
    }

    func testResultNeedsStartedAttempt() throws {
        var m = RunLifecycle()
        try m.apply(.dispatch(epoch: 1))
        XCTAssertThrowsError(try m.apply(.finished(.completed)))
    }

    func testStagingWaitsWithoutAnAttempt() throws {
        var m = RunLifecycle(maxInfraRetries: 1)
        XCTAssertEqual(try m.apply(.stage), .staging)
        XCTAssertEqual(m.epoch, 0, "no attempt exists while the data is staged")
        XCTAssertThrowsError(try m.apply(.started), "an attempt starts only after a dispatch")
        XCTAssertEqual(try m.apply(.unstage), .pending)
        XCTAssertEqual(m.infraFailures, 0, "a node going away before the data arrived is not a failure")
        try m.apply(.stage)
        XCTAssertEqual(try m.apply(.stagingFailed), .pending)
        XCTAssertEqual(m.infraFailures, 1, "a staging failure is an infra failure")
        try m.apply(.stage)
        XCTAssertEqual(try m.apply(.stagingFailed), .failed, "past max_infra_retries")
        var n = RunLifecycle()
        try n.apply(.stage)
        XCTAssertEqual(try n.apply(.dispatch(epoch: 1)), .dispatched)
        var c = RunLifecycle()
        try c.apply(.stage)
        XCTAssertEqual(try c.apply(.cancel), .cancelled)
        var r = RunLifecycle(state: .running, epoch: 1)
        XCTAssertThrowsError(try r.apply(.stage))
    }
}
