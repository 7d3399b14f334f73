import XCTest
@testable import PodiumScheduler

/// Issue 18: placement that prefers nodes holding a run's data, under per-node data cache budgets.
final class LocalityTests: XCTestCase {
    let gpu = Resources(gpus: 1, cpus: 0, memoryBytes: 0)

    func cluster(_ n: Int, gpus: Int = 8, cache: Int64? = nil) -> Scheduler {
        var s = Scheduler(policy: .firstAttemptsThenLongest)
        for i in 0..<n {
            _ = s.on(.nodeUp(name: "n\(i)", capacity: Resources(gpus: gpus, cpus: 1e9, memoryBytes: 1 << 50)))
            _ = s.on(.dataCache(node: "n\(i)", maxBytes: cache))
        }
        return s
    }

    func grid(_ comps: Int, attempts: Int, bytes: (Int) -> Int64) -> [QueuedRun] {
        var runs = [QueuedRun](), seq = 0
        for c in 0..<comps { for a in 1...attempts { for b in [86_400, 360_000] {
            runs.append(QueuedRun(id: "c\(c)-a\(a)-b\(b)", competition: "c\(c)", attempt: a, budgetSeconds: b, needs: gpu, sequence: seq,
                                  dataBytes: bytes(c)))
            seq += 1
        } } }
        return runs
    }

    static func node(_ d: SchedulerDirective) -> (run: String, node: String) {
        guard case .place(let r, let n) = d else { fatalError() }
        return (r, n)
    }

    func testCompetitionsAreSpreadAndEachDatasetCopiedOnceAtTheStart() {
        var s = cluster(20)
        let placed = s.on(.enqueue(grid(75, attempts: 8, bytes: { _ in 44_000_000_000 }))).map(Self.node)
        XCTAssertEqual(placed.count, 160, "every GPU busy")
        var perNode = [String: Set<String>]()
        for p in placed { perNode[p.node, default: []].insert(String(p.run.prefix(while: { $0 != "-" }))) }
        // 75 competitions over 20 nodes: 3 or 4 each, plus the copies idle GPUs take.
        XCTAssertTrue(perNode.values.allSatisfy { (3...5).contains($0.count) }, "\(perNode.mapValues(\.count))")
        // Every first attempt placed at once, each next to its data.
        XCTAssertEqual(placed.filter { $0.run.contains("-a1-") }.count, 150)
        XCTAssertLessThan(s.bytesStaged, 75 * 44_000_000_000 * 12 / 10, "about one copy of each dataset")
    }

    func testReleasedSlotsGoToRunsWhoseDataIsThere() {
        var s = cluster(2, gpus: 2)
        let first = s.on(.enqueue(grid(2, attempts: 3, bytes: { _ in 1_000_000 }))).map(Self.node)
        XCTAssertEqual(first.count, 4)
        let home = Dictionary(first.map { (String($0.run.prefix(2)), $0.node) }, uniquingKeysWith: { a, _ in a })
        let staged = s.bytesStaged
        // A slot frees on c0's node: a waiting run of c0 takes it, no copy.
        let c0run = first.first { $0.run.hasPrefix("c0") && $0.node == home["c0"] }!
        let next = s.on(.released(runID: c0run.run)).map(Self.node)
        XCTAssertEqual(next.count, 1)
        XCTAssertTrue(next[0].run.hasPrefix("c0") || next[0].node == home[String(next[0].run.prefix(2))]!, "\(next) \(home)")
        XCTAssertEqual(s.bytesStaged, staged, "no data copied for a local run")
    }

    func testCacheBudgetEvictsOnlyUnusedDataAndTooLargeDataNeverGoes() {
        // One node of 1 GPU with a 10-byte cache: a, then b (a evicted once unused), and c (11 bytes) never fits.
        var s = Scheduler(policy: .fifo)
        _ = s.on(.nodeUp(name: "n", capacity: Resources(gpus: 1, cpus: 1e9, memoryBytes: 1 << 50)))
        _ = s.on(.dataCache(node: "n", maxBytes: 10))
        func run(_ id: String, _ comp: String, _ bytes: Int64, _ seq: Int) -> QueuedRun {
            QueuedRun(id: id, competition: comp, attempt: 2, budgetSeconds: 60, needs: gpu, sequence: seq, dataBytes: bytes)
        }
        var d = s.on(.enqueue([run("r1", "a", 6, 0), run("r2", "b", 6, 1), run("r3", "c", 11, 2)])).map(Self.node)
        XCTAssertEqual(d.map(\.run), ["r1"])
        XCTAssertEqual(s.nodes[0].cache.keys.sorted(), ["a"])
        d = s.on(.released(runID: "r1")).map(Self.node)
        XCTAssertEqual(d.map(\.run), ["r2"], "b replaces a, which no run uses any more")
        XCTAssertEqual(s.nodes[0].cache.keys.sorted(), ["b"])
        XCTAssertLessThanOrEqual(s.nodes[0].cacheUsed, 10)
        d = s.on(.released(runID: "r2")).map(Self.node)
        XCTAssertTrue(d.isEmpty, "11 bytes never go into a 10-byte cache")
        XCTAssertEqual(s.waitingCount, 1)
    }
}
