#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodiumCore
import PodiumSystem

/// Many seeds of the simulation, and the one-line summary `scripts/dst` ends with.
public enum DSTRun {
    public struct Summary: Codable, Sendable {
        public var seeds: Int
        public var steps: Int
        public var violations: Int
        public var seconds: Double
        public var failingSeeds: [UInt64]
        public var crashes: Int
        public var faults: Int
        public var runs: Int
        public var attempts: Int
        public var virtualHours: Double

        enum CodingKeys: String, CodingKey {
            case seeds, steps, violations, seconds
            case failingSeeds = "failing_seeds"
            case crashes, faults, runs, attempts
            case virtualHours = "virtual_hours"
        }
    }

    /// Runs `seeds` (from `first` on), printing each failing seed with its violations and the command that replays it.
    public static func run(seeds: [UInt64], verbose: Bool, report: (String) -> Void) -> Summary {
        let started = monotonicSeconds()
        var s = Summary(seeds: 0, steps: 0, violations: 0, seconds: 0, failingSeeds: [], crashes: 0, faults: 0, runs: 0, attempts: 0, virtualHours: 0)
        for seed in seeds {
            var o = Simulation.Options(seed: seed)
            o.verbose = verbose
            let r = Simulation(options: o).run()
            s.seeds += 1
            s.steps += r.steps
            s.crashes += r.crashes
            s.faults += r.faults
            s.runs += r.runs
            s.attempts += r.attempts
            s.virtualHours += r.virtualHours
            if !r.violations.isEmpty {
                s.violations += r.violations.count
                s.failingSeeds.append(seed)
                report("seed \(seed): \(r.violations.count) violation(s) after \(r.steps) steps (\(r.places) places, \(r.runs) runs, \(r.crashes) crashes, \(r.faults) faults):")
                for v in r.violations { report("  - \(v)") }
                report("  replay: scripts/dst --seed \(seed) --verbose")
            }
        }
        s.seconds = ((monotonicSeconds() - started) * 1000).rounded() / 1000
        s.virtualHours = s.virtualHours.rounded()
        return s
    }
}
