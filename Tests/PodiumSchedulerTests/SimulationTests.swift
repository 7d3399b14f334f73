import XCTest
@testable import PodiumScheduler
import PodiumCore

final class SimulationTests: XCTestCase {
    /// MLE-bench at full scale: 75 competitions × 8 attempts × {24 h, 100 h} on 20 nodes × 8 GPUs.
    func grid() -> [QueuedRun] {
        var runs = [QueuedRun]()
        for attempt in 1...8 {
            for c in 0..<75 {
                for hours in [24, 100] {
                    runs.append(QueuedRun(id: "c\(c)-\(hours)-a\(attempt)", competition: "c\(c)", attempt: attempt, budgetSeconds: hours * 3600,
                                          needs: Resources(gpus: 1, cpus: 0, memoryBytes: 0), sequence: runs.count))
                }
            }
        }
        return runs
    }
    let cluster = (0..<20).map { Simulation.Node(name: "n\($0)", capacity: Resources(gpus: 8, cpus: 1e9, memoryBytes: 0)) }

    func testDefaultPolicyMeetsBothGoals() {
        let r = Simulation(nodes: cluster, runs: grid(), policy: .firstAttemptsThenLongest).run()
        let bound = 75.0 * 8 * (24 + 100) / 160
        XCTAssertEqual(r.runs, 1200)
        XCTAssertLessThanOrEqual(r.makespan_hours, 1.05 * bound, "makespan within 5% of the lower bound")
        XCTAssertEqual(r.first_pass1_hours["24h"], 24, "every competition's first 24 h attempt done as early as possible")
        XCTAssertEqual(r.first_pass1_hours["100h"], 100)
        let fifo = Simulation(nodes: cluster, runs: grid(), policy: .fifo).run()
        XCTAssertGreaterThan(fifo.makespan_hours, r.makespan_hours)
    }

    func testLongestFirstAloneDelaysShortBudgetPass1() {
        let r = Simulation(nodes: cluster, runs: grid(), policy: .longestFirst).run()
        XCTAssertGreaterThan(r.first_pass1_hours["24h"] ?? 0, 24, "the trade-off the default policy avoids")
    }

    func testDeterministicAndSurvivesFailures() {
        var sim = Simulation(nodes: cluster, runs: grid(), policy: .firstAttemptsThenLongest)
        sim.failures.infraErrorRate = 0.1
        sim.failures.nodeMTBFHours = 200
        sim.failures.repairHours = 4
        sim.earlyFinishMin = 0.5
        sim.seed = 7
        let a = sim.run(), b = sim.run()
        XCTAssertEqual(a.makespan_hours, b.makespan_hours)
        XCTAssertGreaterThan(a.requeued, 0)
        XCTAssertEqual(a.attempts, 1200 + a.requeued, "every requeue is one more attempt, every run finishes")
        XCTAssertTrue(a.makespan_hours.isFinite)
    }
}
