import XCTest
@testable import PodiumScheduler
import PodiumCore

final class SchedulerTests: XCTestCase {
    func run(_ id: String, attempt: Int = 1, hours: Int = 24, gpus: Int = 1, seq: Int = 0) -> QueuedRun {
        QueuedRun(id: id, competition: "c-\(id)", attempt: attempt, budgetSeconds: hours * 3600,
                  needs: Resources(gpus: gpus, cpus: 1, memoryBytes: 1 << 30), sequence: seq)
    }
    let node8 = Resources(gpus: 8, cpus: 64, memoryBytes: 512 << 30)

    func placed(_ ds: [SchedulerDirective]) -> [String] {
        ds.map { if case .place(let id, _) = $0 { return id } else { return "" } }
    }

    func testPlacesUpToCapacityAndReleases() {
        var s = Scheduler()
        _ = s.on(.nodeUp(name: "n1", capacity: Resources(gpus: 2, cpus: 64, memoryBytes: 512 << 30)))
        let out = s.on(.enqueue((0..<5).map { run("r\($0)", seq: $0) }))
        XCTAssertEqual(out.count, 2)
        XCTAssertEqual(s.waiting.count, 3)
        let next = s.on(.released(runID: placed(out)[0]))
        XCTAssertEqual(next.count, 1, "a freed GPU is used at once")
        XCTAssertEqual(s.runningCount, 2)
    }

    func testNothingPlacedWithoutNodesOrOnDownNode() {
        var s = Scheduler()
        XCTAssertTrue(s.on(.enqueue([run("a")])).isEmpty)
        _ = s.on(.nodeUp(name: "n1", capacity: Resources(gpus: 1, cpus: 8, memoryBytes: 64 << 30)))
        XCTAssertEqual(s.runningCount, 1)
        _ = s.on(.nodeDown(name: "n1"))
        XCTAssertTrue(s.on(.enqueue([run("b")])).isEmpty)
        XCTAssertEqual(s.waiting.map(\.id), ["b"])
    }

    func testDefaultPolicyFirstAttemptsThenLongest() {
        let runs = [run("a2-long", attempt: 2, hours: 100, seq: 0), run("a1-short", attempt: 1, hours: 24, seq: 1),
                    run("a1-long", attempt: 1, hours: 100, seq: 2), run("a2-short", attempt: 2, hours: 24, seq: 3)]
        var s = Scheduler(policy: .firstAttemptsThenLongest)
        _ = s.on(.enqueue(runs))
        let order = placed(s.on(.nodeUp(name: "n", capacity: node8)))
        XCTAssertEqual(order, ["a1-long", "a1-short", "a2-long", "a2-short"])
        var fifo = Scheduler(policy: .fifo)
        _ = fifo.on(.enqueue(runs))
        XCTAssertEqual(placed(fifo.on(.nodeUp(name: "n", capacity: node8))), ["a2-long", "a1-short", "a1-long", "a2-short"])
    }

    func testLargeRunDoesNotBlockSmallerOnes() {
        var s = Scheduler(policy: .fifo)
        _ = s.on(.nodeUp(name: "n", capacity: Resources(gpus: 2, cpus: 64, memoryBytes: 512 << 30)))
        let out = s.on(.enqueue([run("big", gpus: 4, seq: 0), run("small", gpus: 1, seq: 1)]))
        XCTAssertEqual(placed(out), ["small"])
        XCTAssertEqual(s.waiting.map(\.id), ["big"])
    }

    func testBestFitKeepsWholeNodesForWideRuns() {
        var s = Scheduler(policy: .fifo)
        _ = s.on(.nodeUp(name: "big", capacity: Resources(gpus: 2, cpus: 64, memoryBytes: 512 << 30)))
        _ = s.on(.nodeUp(name: "small", capacity: Resources(gpus: 1, cpus: 64, memoryBytes: 512 << 30)))
        let out = s.on(.enqueue([run("one", gpus: 1, seq: 0), run("two", gpus: 2, seq: 1)]))
        XCTAssertEqual(out, [.place(runID: "one", node: "small"), .place(runID: "two", node: "big")])
    }

    func testDuplicateEnqueueIgnored() {
        var s = Scheduler()
        _ = s.on(.enqueue([run("a"), run("a")]))
        XCTAssertEqual(s.waiting.count, 1)
    }

    func testPlanLowerBound() {
        // 75 × 8 × (24 h + 100 h) on 160 GPUs, one GPU per run: GPU-hours ÷ GPUs dominates.
        let runs = Array(repeating: (budgetSeconds: 24 * 3600, needs: Resources(gpus: 1, cpus: 1, memoryBytes: 0)), count: 600)
            + Array(repeating: (budgetSeconds: 100 * 3600, needs: Resources(gpus: 1, cpus: 1, memoryBytes: 0)), count: 600)
        let e = PlanEstimate(runs: runs, capacity: Resources(gpus: 160, cpus: 10_000, memoryBytes: 0))
        XCTAssertEqual(e.runs, 1200)
        XCTAssertEqual(e.gpuHours, 74_400, accuracy: 1e-9)
        XCTAssertEqual(e.makespanLowerBoundHours, 465, accuracy: 1e-9)
        // With plenty of GPUs the longest run is the bound.
        let wide = PlanEstimate(runs: runs, capacity: Resources(gpus: 100_000, cpus: 100_000, memoryBytes: 0))
        XCTAssertEqual(wide.makespanLowerBoundHours, 100, accuracy: 1e-9)
    }
}

final class PlacementConstraintTests: XCTestCase {
    /// A profile's gpu_model sends its runs only to matching nodes; disk is reserved per run like memory.
    func testGPUModelAndDisk() {
        var s = Scheduler()
        _ = s.on(.nodeUp(name: "a100", capacity: Resources(gpus: 8, cpus: 64, memoryBytes: 512 << 30), gpuModel: "NVIDIA A100-SXM4-80GB"))
        _ = s.on(.nodeUp(name: "h100", capacity: Resources(gpus: 1, cpus: 16, memoryBytes: 128 << 30, diskBytes: 300 << 30),
                         gpuModel: "NVIDIA H100 80GB HBM3"))
        let need = Resources(gpus: 1, cpus: 4, memoryBytes: 16 << 30, diskBytes: 200 << 30)
        let runs = (1...3).map { QueuedRun(id: "h\($0)", competition: "c", attempt: $0, budgetSeconds: 3600, needs: need, sequence: $0, gpuModel: "h100") }
            + [QueuedRun(id: "any", competition: "c", attempt: 1, budgetSeconds: 3600, needs: Resources(gpus: 1, cpus: 4, memoryBytes: 1 << 30),
                         sequence: 9)]
        let placed = s.on(.enqueue(runs)).map { d -> String in if case .place(let r, let n) = d { return "\(r)@\(n)" }; return "" }
        XCTAssertEqual(placed.filter { $0.hasPrefix("h") }, ["h1@h100"], "one H100 run fits the H100 node's GPU and disk; none goes to the A100")
        XCTAssertTrue(placed.contains("any@a100") || placed.contains("any@h100"))
        XCTAssertEqual(s.waitingCount, 2)
        let next = s.on(.released(runID: "h1")).map { d -> String in if case .place(let r, let n) = d { return "\(r)@\(n)" }; return "" }
        XCTAssertEqual(next, ["h2@h100"])
        XCTAssertTrue(gpuModelMatches(required: nil, offered: nil))
        XCTAssertFalse(gpuModelMatches(required: "H100", offered: nil), "an unknown model never satisfies a requirement")
    }
}
