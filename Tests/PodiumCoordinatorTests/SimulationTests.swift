import XCTest
import PodiumDST

/// The deterministic simulation of the whole coordinator: a few hundred seeds in every test run (scripts/dst runs
/// many more), and a seed replays exactly.
final class DeterministicSimulationTests: XCTestCase {
    func testSeedsKeepEveryInvariant() {
        var failures = [String]()
        let seeds = Int(ProcessInfo.processInfo.environment["PODIUM_DST_SEEDS"] ?? "") ?? 300
        let s = DSTRun.run(seeds: (1...UInt64(seeds)).map { $0 }, verbose: false) { failures.append($0) }
        XCTAssertEqual(s.violations, 0, failures.joined(separator: "\n"))
        XCTAssertGreaterThan(s.crashes, seeds / 2, "the schedule really crashes the coordinator")
        XCTAssertGreaterThan(s.attempts, s.runs, "faults really cost attempts")
    }

    func testASeedReplaysExactly() {
        let a = Simulation(options: .init(seed: 42)).run(), b = Simulation(options: .init(seed: 42)).run()
        XCTAssertEqual(a.steps, b.steps)
        XCTAssertEqual(a.attempts, b.attempts)
        XCTAssertEqual(a.crashes, b.crashes)
        XCTAssertNotEqual(Simulation(options: .init(seed: 43)).run().steps, a.steps)
    }
}
