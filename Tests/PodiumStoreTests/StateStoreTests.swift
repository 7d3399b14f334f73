import XCTest
@testable import PodiumStore
import GRDB
import PodiumCore

final class StateStoreTests: XCTestCase {
    var dir: String!

    override func setUp() {
        dir = NSTemporaryDirectory() + "podium-store-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func grid() -> [RunSpec] {
        expandGrid(sweep: "s", agent: "a", competitions: ["c1", "c2"], budgets: [BudgetDuration(seconds: 60)], profiles: ["p"], attempts: 2)
    }

    func testDurabilitySettings() throws {
        let store = try StateStore(path: dir + "/state.sqlite")
        XCTAssertEqual(try store.journalMode(), "wal")
        XCTAssertEqual(try store.synchronousMode(), 2, "synchronous=FULL")
        XCTAssertEqual(try store.integrityCheck(), "ok")
    }

    /// `podium serve`'s reader: sees another connection's commits (data_version moves), cannot write, and refuses a
    /// state whose schema is older than this podium's instead of migrating it.
    func testReadingOnlyFollowsCommitsAndWritesNothing() throws {
        let writer = try StateStore(path: dir + "/state.sqlite")
        try writer.register(sweep: "s", configJSON: "{}", runs: grid())
        let reader = try StateStore(readingOnly: dir + "/state.sqlite")
        let v0 = try reader.dataVersion()
        XCTAssertEqual(try reader.runs(sweep: "s").count, 4)
        XCTAssertEqual(try reader.dataVersion(), v0, "nothing committed meanwhile")
        _ = try writer.apply(.cancel, to: grid()[0].id, maxInfraRetries: 3)
        XCTAssertNotEqual(try reader.dataVersion(), v0)
        XCTAssertEqual(try reader.run(grid()[0].id)?.state, .cancelled)
        XCTAssertThrowsError(try reader.logEvent(kind: "x", detail: nil), "a read-only state took a write")
        XCTAssertEqual(try reader.timeline(runID: grid()[0].id).last?.to, "cancelled")

        let old = dir + "/old.sqlite"
        _ = try StateStore(path: old)
        let raw = try DatabaseQueue(path: old)
        try raw.write { db in try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'v6-event-indexes'") }
        XCTAssertThrowsError(try StateStore(readingOnly: old)) { XCTAssertTrue("\($0)".contains("podium status"), "\($0)") }
    }

    func testRegisterIsIdempotent() throws {
        let store = try StateStore(path: dir + "/state.sqlite")
        XCTAssertEqual(try store.register(sweep: "s", configJSON: "{}", runs: grid()), 4)
        XCTAssertEqual(try store.register(sweep: "s", configJSON: "{}", runs: grid()), 0)
        let reopened = try StateStore(path: dir + "/state.sqlite")
        XCTAssertEqual(try reopened.runs(sweep: "s").map(\.id), grid().map(\.id))
    }

    func testTransitionsRecordAttemptsAndEvents() throws {
        let store = try StateStore(path: dir + "/state.sqlite")
        try store.register(sweep: "s", configJSON: "{}", runs: grid())
        let id = grid()[0].id
        try store.apply(.dispatch(epoch: 1), to: id, node: "n1", maxInfraRetries: 3)
        try store.apply(.started, to: id, maxInfraRetries: 3)
        try store.apply(.finished(.infraError), to: id, detail: "image missing", maxInfraRetries: 3)
        try store.apply(.dispatch(epoch: 2), to: id, node: "n2", maxInfraRetries: 3)
        try store.apply(.started, to: id, maxInfraRetries: 3)
        let r = try store.apply(.finished(.timedOut), to: id,
                                result: .init(exitCode: 143, elapsedSeconds: 60.2, message: "budget"), maxInfraRetries: 3)
        XCTAssertEqual(r.state, .collecting)
        XCTAssertEqual(r.epoch, 2)
        let attempts = try store.attempts(runID: id)
        XCTAssertEqual(attempts.map(\.epoch), [1, 2])
        XCTAssertEqual(attempts.map(\.node), ["n1", "n2"])
        XCTAssertEqual(attempts.map(\.outcome), [.infraError, .timedOut])
        XCTAssertEqual(attempts[1].exitCode, 143)
        XCTAssertEqual(try store.eventCount(runID: id), 6)
    }

    func testIllegalTransitionChangesNothing() throws {
        let store = try StateStore(path: dir + "/state.sqlite")
        try store.register(sweep: "s", configJSON: "{}", runs: grid())
        let id = grid()[0].id
        XCTAssertThrowsError(try store.apply(.graded, to: id, maxInfraRetries: 3))
        XCTAssertEqual(try store.run(id)?.state, .pending)
        XCTAssertEqual(try store.eventCount(runID: id), 0)
        XCTAssertThrowsError(try store.apply(.dispatch(epoch: 0), to: id, node: "n", maxInfraRetries: 3), "epoch 0 is not newer")
        XCTAssertTrue(try store.attempts(runID: id).isEmpty)
    }

    func testEachArtifactGradedOnce() throws {
        let store = try StateStore(path: dir + "/state.sqlite")
        try store.register(sweep: "s", configJSON: "{}", runs: grid())
        let g = GradeRecord(runID: grid()[0].id, epoch: 1, artifact: "submission/submission.csv", isFinal: true, elapsedSeconds: nil,
                            score: 0.9, submissionExists: true, valid: true, anyMedal: true, gold: false, silver: true, bronze: false,
                            aboveMedian: true, reportJSON: "{}")
        XCTAssertTrue(try store.recordGrade(g))
        XCTAssertFalse(try store.recordGrade(g), "the second grade of the same artifact is refused")
        XCTAssertEqual(try store.grades(sweep: "s").count, 1)
    }

    func testStagingKeepsTheNodeAndNodeDataIsRecorded() throws {
        let store = try StateStore(path: dir + "/state.sqlite")
        try store.register(sweep: "s", configJSON: "{}", runs: grid())
        let id = grid()[0].id
        XCTAssertEqual(try store.apply(.stage, to: id, node: "n1", maxInfraRetries: 3).node, "n1")
        XCTAssertEqual(try store.run(id)?.state, .staging)
        XCTAssertEqual(try store.attempts(runID: id).count, 0, "no attempt row while the data is staged")
        XCTAssertEqual(try store.apply(.dispatch(epoch: 1), to: id, node: "n1", maxInfraRetries: 3).node, "n1")
        try store.setNodeData(node: "n1", competition: "c1", bytes: 10, state: "staging", manifestSHA256: "ab")
        try store.setNodeData(node: "n1", competition: "c1", bytes: 10, state: "ready", manifestSHA256: "ab")
        try store.setNodeData(node: "n2", competition: "c2", bytes: 20, state: "staging")
        XCTAssertEqual(try store.nodeData().map { "\($0.node) \($0.competition) \($0.state)" }, ["n1 c1 ready", "n2 c2 staging"])
        try store.removeNodeData(node: "n2", competition: "c2")
        XCTAssertEqual(try StateStore(path: dir + "/state.sqlite").nodeData().map(\.competition), ["c1"])
    }
}

/// Configuration versions in the state: never overwritten; a new version ends the earlier one's unfinished runs.
final class ConfigVersionStoreTests: XCTestCase {
    func testANewVersionCancelsUnstartedRunsAsksLiveOnesToStopAndKeepsResults() throws {
        let dir = NSTemporaryDirectory() + "podium-versions-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try StateStore(path: dir + "/s.sqlite")
        let grid = expandGrid(sweep: "s", agent: "a", competitions: ["c0", "c1", "c2"], budgets: [BudgetDuration(seconds: 60)],
                              profiles: ["cpu"], attempts: 1)
        try store.addConfigVersion(sweep: "s", version: 1, configJSON: "{}", agentJSON: #"{"image":"one"}"#)
        XCTAssertEqual(try store.register(sweep: "s", configJSON: "{}", runs: grid), 3)
        // c0 completed, c1 running, c2 pending.
        for e in [RunEvent.dispatch(epoch: 1), .started, .finished(.completed), .collected, .graded] {
            try store.apply(e, to: grid[0].id, node: "n", maxInfraRetries: 3)
        }
        try store.apply(.dispatch(epoch: 1), to: grid[1].id, node: "n", maxInfraRetries: 3)
        try store.apply(.started, to: grid[1].id, maxInfraRetries: 3)
        let ended = try store.addConfigVersion(sweep: "s", version: 2, configJSON: "{}", agentJSON: #"{"image":"two"}"#)
        XCTAssertEqual(ended.cancelled, 1)
        XCTAssertEqual(ended.stopping, 1)
        let v2 = grid.map { $0.inVersion(2) }
        XCTAssertEqual(Set(v2.map(\.id)).intersection(grid.map(\.id)), [], "a later version's runs have ids of their own")
        XCTAssertEqual(try store.register(sweep: "s", configJSON: "{}", runs: v2), 3)
        let runs = try store.runs(sweep: "s")
        XCTAssertEqual(runs.map(\.state), [.completed, .running, .cancelled, .pending, .pending, .pending])
        XCTAssertEqual(runs.map(\.spec.configVersion), [1, 1, 1, 2, 2, 2])
        XCTAssertEqual(runs.map(\.sequence), [0, 1, 2, 3, 4, 5], "version 2 comes after version 1")
        XCTAssertEqual(try store.openRequests(sweep: "s").map(\.runID), [grid[1].id], "the live attempt is asked to stop")
        XCTAssertEqual(try store.configVersions(sweep: "s").map(\.agent), [#"{"image":"one"}"#, #"{"image":"two"}"#])
        XCTAssertEqual(try store.attempts(sweep: "s").first?.configVersion, 1)
        XCTAssertEqual(try store.attempts(sweep: "s").first?.podiumVersion, podiumVersion)
    }
}
