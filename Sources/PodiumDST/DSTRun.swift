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
        /// Coordinators per seed (sweeps sharing the places), and with several: the largest deviation of a sweep's
        /// share of contended GPU-seconds from its entitlement over the seeds with at least 50 contended place-hours,
        /// and the contended place-hours in all.
        public var coordinators: Int = 1
        public var fairnessMaxDeviation: Double = 0
        public var contendedHours: Double = 0

        enum CodingKeys: String, CodingKey {
            case seeds, steps, violations, seconds
            case failingSeeds = "failing_seeds"
            case crashes, faults, runs, attempts
            case virtualHours = "virtual_hours"
            case coordinators
            case fairnessMaxDeviation = "fairness_max_deviation"
            case contendedHours = "contended_hours"
        }
    }

    /// Runs `seeds` (from `first` on), printing each failing seed with its violations and the command that replays it.
    public static func run(seeds: [UInt64], verbose: Bool, coordinators: Int = 1, report: (String) -> Void) -> Summary {
        let started = monotonicSeconds()
        var s = Summary(seeds: 0, steps: 0, violations: 0, seconds: 0, failingSeeds: [], crashes: 0, faults: 0, runs: 0, attempts: 0, virtualHours: 0)
        for seed in seeds {
            var o = Simulation.Options(seed: seed)
            o.verbose = verbose
            o.coordinators = coordinators
            let r = Simulation(options: o).run()
            s.coordinators = r.coordinators
            s.contendedHours += r.contendedHours
            if r.contendedHours >= 50 { s.fairnessMaxDeviation = max(s.fairnessMaxDeviation, (r.fairnessDeviation * 1000).rounded() / 1000) }
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
                report("  replay: scripts/dst --seed \(seed)\(coordinators > 1 ? " --coordinators \(coordinators)" : "") --verbose")
            }
        }
        s.seconds = ((monotonicSeconds() - started) * 1000).rounded() / 1000
        s.virtualHours = s.virtualHours.rounded()
        s.contendedHours = s.contendedHours.rounded()
        return s
    }
}
