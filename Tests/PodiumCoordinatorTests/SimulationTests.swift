import XCTest
import PodiumDST
import PodiumCore
import PodiumCoordinator
import PodiumScheduler

/// The deterministic simulation of the whole coordinator: a few hundred seeds in every test run (scripts/dst runs
/// many more), and a seed replays exactly.
final class DeterministicSimulationTests: XCTestCase {
    func testSeedsKeepEveryInvariant() {
        var failures = [String]()
        let seeds = Int(ProcessInfo.processInfo.environment["PODIUM_DST_SEEDS"] ?? "") ?? 300
        // scripts/test picks the first seed from the commit, so successive commits cover new seeds.
        let first = UInt64(ProcessInfo.processInfo.environment["PODIUM_DST_FIRST"] ?? "") ?? 1
        let s = DSTRun.run(seeds: (0..<UInt64(seeds)).map { first + $0 }, verbose: false) { failures.append($0) }
        XCTAssertEqual(s.violations, 0, failures.joined(separator: "\n"))
        XCTAssertGreaterThan(s.crashes, seeds / 2, "the schedule really crashes the coordinator")
        XCTAssertGreaterThan(s.attempts, s.runs, "faults really cost attempts")
    }

    /// Several sweeps sharing the same places (issue 27): each coordinator crashes and restarts, the places' daemons
    /// admit with the real ledger; no coordinator names another's attempt, no place over-commits, every run of every
    /// sweep ends.
    func testSeveralCoordinatorsShareThePlacesWithoutHarm() {
        var failures = [String]()
        let seeds = Int(ProcessInfo.processInfo.environment["PODIUM_DST_MULTI_SEEDS"] ?? "") ?? 30
        let first = (UInt64(ProcessInfo.processInfo.environment["PODIUM_DST_FIRST"] ?? "") ?? 1) + 500_000
        let s = DSTRun.run(seeds: (0..<UInt64(seeds)).map { first + $0 }, verbose: false, coordinators: 2) { failures.append($0) }
        XCTAssertEqual(s.violations, 0, failures.joined(separator: "\n"))
        XCTAssertEqual(s.coordinators, 2)
        XCTAssertGreaterThan(s.crashes, seeds / 2)
        XCTAssertGreaterThan(s.contendedHours, 0, "the sweeps really competed for places")
    }

    func testASeedReplaysExactly() {
        let a = Simulation(options: .init(seed: 42)).run(), b = Simulation(options: .init(seed: 42)).run()
        XCTAssertEqual(a.steps, b.steps)
        XCTAssertEqual(a.attempts, b.attempts)
        XCTAssertEqual(a.crashes, b.crashes)
        XCTAssertNotEqual(Simulation(options: .init(seed: 43)).run().steps, a.steps)
    }
}

/// Issue 21: `simulate CONFIG` simulated a default 20 × 8 cluster while `plan` used the inventory. On the inventory,
/// each run takes its profile's resources: CPU-only profiles on CPU-only nodes must all run (a start asked for 1 GPU).
final class InventorySimulationTests: XCTestCase {
    func testCPUOnlyInventoryRunsEveryRun() {
        let runs = expandGrid(sweep: "s", agent: "a", competitions: ["c1", "c2"], budgets: [BudgetDuration(seconds: 60), BudgetDuration(seconds: 120)],
                              profiles: ["cpu"], attempts: 4)
        let places = [CoordinatorInstance.PlaceSpec(name: "local", capacity: Resources(gpus: 0, cpus: 8, memoryBytes: 16 << 30), gpuModel: nil)]
        let w = Simulation.Workload(places: places, runs: runs,
                                    needs: ["cpu": .init(resources: Resources(gpus: 0, cpus: 1, memoryBytes: 1 << 30), gpuModel: nil)],
                                    policy: .firstAttemptsThenLongest, lostAfter: 600, maxInfraRetries: 3)
        var o = Simulation.Options(seed: 1)
        o.deadline = 100 * 3600
        o.maxSteps = .max
        let r = Simulation(options: o, workload: w).run()
        XCTAssertTrue(r.violations.isEmpty, "\(r.violations)")
        XCTAssertEqual(r.completed, runs.count)
        XCTAssertEqual(r.attempts, runs.count, "no start refused for want of a GPU")
        // 16 runs of 1 CPU on 8 CPUs, half 60 s and half 120 s: at least (8·60 + 8·120) / 8 = 180 s.
        XCTAssertGreaterThanOrEqual(r.makespanHours * 3600, 180)
    }
}

/// Issue 18's acceptance workload on the coordinator's own instance: MLE-bench's 75 competitions × 2 budgets × 8
/// attempts on 20 nodes × 8 GPUs with 1 TB data caches and 100 MB/s staging, dataset sizes from the checkout.
final class StagingSimulationTests: XCTestCase {
    func testLocalityMeetsTheGoals() throws {
        let mle = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path + "/../shared/mle-bench"
        let sizes = CompetitionRegistry.datasetBytes(mlebenchDir: mle)
        guard let split = try? String(contentsOfFile: mle + "/experiments/splits/split75.txt", encoding: .utf8), !sizes.isEmpty else {
            throw XCTSkip("../shared/mle-bench not present")
        }
        let ids = split.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
        XCTAssertEqual(ids.count, 75)
        let budgets = [BudgetDuration(seconds: 86_400), BudgetDuration(seconds: 360_000)]
        let runs = expandGrid(sweep: "s", agent: "a", competitions: ids, budgets: budgets, profiles: ["gpu"], attempts: 8)
        let one = Resources(gpus: 1, cpus: 0, memoryBytes: 0)
        let places = (0..<20).map {
            CoordinatorInstance.PlaceSpec(name: "n\($0)", capacity: Resources(gpus: 8, cpus: 1e9, memoryBytes: 1 << 50), gpuModel: nil,
                                          dataCacheBytes: 1_000_000_000_000)
        }
        var w = Simulation.Workload(places: places, runs: runs, needs: ["gpu": .init(resources: one, gpuModel: nil)],
                                    policy: .firstAttemptsThenLongest, lostAfter: 600, maxInfraRetries: 3)
        w.dataBytes = sizes.filter { ids.contains($0.key) }
        w.nodeBandwidth = 100e6
        var o = Simulation.Options(seed: 1)
        o.deadline = 100_000 * 3600
        o.maxSteps = .max
        let r = Simulation(options: o, workload: w).run()
        XCTAssertTrue(r.violations.isEmpty, "\(r.violations)")
        XCTAssertEqual(r.completed, 1200)
        let bound = PlanEstimate(runs: runs.map { ($0.budget.seconds, one) }, capacity: Resources(gpus: 160, cpus: 0, memoryBytes: 0)).makespanLowerBoundHours
        let minBytes = Double(w.dataBytes.values.reduce(0, +))
        var firstPass = [Int: Double]()
        for spec in runs where spec.attempt == 1 { firstPass[spec.budget.seconds] = max(firstPass[spec.budget.seconds] ?? 0, r.finishedAt[spec.id] ?? .infinity) }
        XCTAssertLessThanOrEqual(r.makespanHours, 1.03 * bound)
        XCTAssertLessThanOrEqual(firstPass[86_400]!, 26.4)
        XCTAssertLessThanOrEqual(firstPass[360_000]!, 110)
        XCTAssertLessThanOrEqual(Double(r.bytesStaged), 2 * minBytes, "\(Double(r.bytesStaged) / 1e12) TB staged, minimum \(minBytes / 1e12) TB")
        XCTAssertGreaterThanOrEqual(Double(r.bytesStaged), minBytes, "each dataset at least once")
    }
}
