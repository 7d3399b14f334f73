import XCTest
import PodiumCore
import PodiumStore
@testable import PodiumCoordinator

/// Issue 21, "finding things": `podium runs` rows from a real SQLite state, and runs named by id, prefix or label.
final class RunListingTests: XCTestCase {
    func testRowsCarryStateNodeElapsedScoreAndMedal() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("podium-runs-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try StateStore(path: dir + "/state.sqlite")
        let specs = expandGrid(sweep: "s", agent: "a", competitions: ["wine-cultivar"], budgets: [BudgetDuration(seconds: 30)],
                               profiles: ["cpu"], attempts: 3)
        try store.register(sweep: "s", configJSON: "{}", runs: specs)
        let done = specs[0].id, live = specs[1].id
        try store.apply(.dispatch(epoch: 1), to: done, node: "n1", maxInfraRetries: 3)
        try store.apply(.started, to: done, maxInfraRetries: 3)
        try store.apply(.finished(.completed), to: done, result: .init(exitCode: 0, elapsedSeconds: 28.5, message: nil), maxInfraRetries: 3)
        try store.apply(.collected, to: done, maxInfraRetries: 3)
        try store.recordGrade(GradeRecord(runID: done, epoch: 1, artifact: "submission/submission.csv", isFinal: true, elapsedSeconds: nil,
                                          score: 0.97222, submissionExists: true, valid: true, anyMedal: true, gold: false, silver: true,
                                          bronze: false, aboveMedian: true, reportJSON: "{}"))
        try store.apply(.graded, to: done, maxInfraRetries: 3)
        try store.apply(.dispatch(epoch: 1), to: live, node: "n2", maxInfraRetries: 3, now: 1000)
        try store.apply(.started, to: live, maxInfraRetries: 3, now: 1000)

        let rows = try RunListing.rows(store: store, sweep: "s", now: 1012)
        XCTAssertEqual(rows.map(\.label), ["wine-cultivar/30s/cpu/a1", "wine-cultivar/30s/cpu/a2", "wine-cultivar/30s/cpu/a3"])
        XCTAssertEqual(rows[0].state, "completed")
        XCTAssertEqual(rows[0].node, "n1", "the node of the attempt stays known after it ended")
        XCTAssertEqual(rows[0].elapsed_seconds, 28.5)
        XCTAssertEqual(rows[0].score, 0.97222)
        XCTAssertEqual(rows[0].medal, "silver")
        XCTAssertEqual(rows[1].state, "running")
        XCTAssertEqual(rows[1].elapsed_seconds, 12, "a live attempt's time so far")
        XCTAssertNil(rows[1].medal)
        XCTAssertEqual(rows[2].state, "pending")
        XCTAssertNil(rows[2].node)

        let runs = try store.runs(sweep: "s")
        XCTAssertEqual(try RunListing.resolve(["wine-cultivar/30s/cpu/a2"], runs: runs, statePath: "st")[0].id, live, "the label sweep prints")
        XCTAssertEqual(try RunListing.resolve([String(live.prefix(8))], runs: runs, statePath: "st")[0].id, live, "a unique prefix")
        XCTAssertThrowsError(try RunListing.resolve(["r"], runs: runs, statePath: "st"), "a prefix of several runs")
        XCTAssertThrowsError(try RunListing.resolve(["nope/1h/x/a1"], runs: runs, statePath: "st")) { e in
            XCTAssertTrue("\(e)".contains("podium runs"), "\(e)")
        }
    }
}

/// `podium status` says each node's state: up or down, since when, and why.
final class NodeStateViewTests: XCTestCase {
    func testUpDownDrainedAndNeverContacted() throws {
        let events: [String: StateStore.EventRecord] = [
            "gpu01": .init(at: 100, epoch: nil, kind: "node_up", from: nil, to: nil, detail: "gpu01: worker 0.1.0, runtime docker, 8 GPU(s)"),
            "gpu02": .init(at: 200, epoch: nil, kind: "node_down", from: nil, to: nil, detail: "gpu02: connection refused"),
            "gpu03": .init(at: 300, epoch: nil, kind: "node_drained", from: nil, to: nil, detail: "gpu03: disk full while staging c0"),
        ]
        let states = NodeStateView.all(events, inventory: ["gpu01", "gpu02", "gpu03", "gpu04"], live: ["gpu01": 2], coordinatorRunning: true)
        XCTAssertEqual(states.map(\.node), ["gpu01", "gpu02", "gpu03", "gpu04"])
        XCTAssertEqual(states.map(\.up), [true, false, false, false])
        XCTAssertEqual(states.map(\.since), [100, 200, 300, nil])
        XCTAssertEqual(states.map(\.reason), [nil, "connection refused", "drained: disk full while staging c0", "not contacted yet"])
        XCTAssertEqual(states[0].live_attempts, 2)
        XCTAssertTrue(states[1].line.hasPrefix("node gpu02: down since 1970-01-01 00:03:20 UTC"), states[1].line)
        let json = String(decoding: try JSONEncoder().encode(states[0]), as: UTF8.self)
        XCTAssertTrue(json.contains("\"reason\":null"), json)
    }
}

final class LabelSpellingTests: XCTestCase {
    /// `podium logs wine/60s/cpu/a1` finds the run labelled `wine/1m/cpu/a1`: any spelling of a budget names it.
    func testBudgetsInLabelsAcceptAnyEquivalentSpelling() {
        XCTAssertEqual(canonicalLabel("wine-cultivar/60s/cpu/a1"), "wine-cultivar/1m/cpu/a1")
        XCTAssertEqual(canonicalLabel("c/90m/gpu/a2@v2"), "c/1h30m/gpu/a2@v2")
        XCTAssertEqual(canonicalLabel("c/24h/gpu/a1"), "c/24h/gpu/a1")
        XCTAssertEqual(canonicalLabel("r0123abc"), "r0123abc")
        XCTAssertEqual(canonicalLabel("c/60/gpu/a1"), "c/60/gpu/a1", "no unit: not a budget spelling")
    }
}
