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
        /// Threads the seeds ran on, simulated steps per second over them all, whether the fault mix was drawn per seed,
        /// and how often each kind of event, directive and fault happened (a kind missing is a blind spot).
        public var threads: Int = 1
        public var stepsPerSecond: Double = 0
        public var swarm = false
        public var kinds: [String: Int] = [:]

        enum CodingKeys: String, CodingKey {
            case seeds, steps, violations, seconds
            case failingSeeds = "failing_seeds"
            case crashes, faults, runs, attempts
            case virtualHours = "virtual_hours"
            case coordinators
            case fairnessMaxDeviation = "fairness_max_deviation"
            case contendedHours = "contended_hours"
            case threads
            case stepsPerSecond = "steps_per_second"
            case swarm, kinds
        }

        mutating func add(_ r: Simulation.Result, report: (String) -> Void, replay: String) {
            coordinators = r.coordinators
            contendedHours += r.contendedHours
            if r.contendedHours >= 50 { fairnessMaxDeviation = max(fairnessMaxDeviation, (r.fairnessDeviation * 1000).rounded() / 1000) }
            seeds += 1
            steps += r.steps
            crashes += r.crashes
            faults += r.faults
            runs += r.runs
            attempts += r.attempts
            virtualHours += r.virtualHours
            for (k, n) in r.kinds { kinds[k, default: 0] += n }
            if !r.violations.isEmpty {
                violations += r.violations.count
                failingSeeds.append(r.seed)
                report("seed \(r.seed): \(r.violations.count) violation(s) after \(r.steps) steps (\(r.places) places, \(r.runs) runs, \(r.crashes) crashes, \(r.faults) faults):")
                for v in r.violations { report("  - \(v)") }
                report("  replay: scripts/dst --seed \(r.seed)\(replay) --verbose")
            }
        }
    }

    /// Runs `seeds` one after another, printing each failing seed with its violations and the command that replays it.
    public static func run(seeds: [UInt64], verbose: Bool, coordinators: Int = 1, swarm: Bool = false, report: (String) -> Void) -> Summary {
        let started = monotonicSeconds()
        var s = Summary(seeds: 0, steps: 0, violations: 0, seconds: 0, failingSeeds: [], crashes: 0, faults: 0, runs: 0, attempts: 0, virtualHours: 0)
        for seed in seeds {
            s.add(Simulation(options: options(seed, verbose: verbose, coordinators: coordinators, swarm: swarm)).run(), report: report,
                  replay: replayFlags(coordinators, swarm))
        }
        return finish(s, started: started, swarm: swarm)
    }

    /// Runs seeds from `first` on `threads` threads, until `count` seeds are done or `seconds` have passed (whichever is
    /// given; both: the first reached). Results are summed in seed order; failing seeds are printed as they are found.
    public static func run(first: UInt64, count: Int?, seconds: Double?, threads: Int, coordinators: Int = 1, swarm: Bool = false,
                           report: @escaping @Sendable (String) -> Void) -> Summary {
        let started = monotonicSeconds()
        let next = Locked(first)
        let results = Locked([Simulation.Result]())
        let done = Locked(0)
        let workers = max(1, threads)
        let last: UInt64? = count.map { first + UInt64(max(0, $0)) }
        for _ in 0..<workers {
            BlockingThread.start {
                while true {
                    if let seconds, monotonicSeconds() - started >= seconds { break }
                    let seed = next.withLock { n -> UInt64? in
                        if let last, n >= last { return nil }
                        defer { n += 1 }
                        return n
                    }
                    guard let seed else { break }
                    let r = Simulation(options: options(seed, verbose: false, coordinators: coordinators, swarm: swarm)).run()
                    if !r.violations.isEmpty { report("seed \(seed): \(r.violations.count) violation(s) (details follow in seed order)") }
                    results.withLock { $0.append(r) }
                }
                done.withLock { $0 += 1 }
            }
        }
        while done.withLock({ $0 }) < workers { sleepSeconds(0.05) }
        var s = Summary(seeds: 0, steps: 0, violations: 0, seconds: 0, failingSeeds: [], crashes: 0, faults: 0, runs: 0, attempts: 0, virtualHours: 0)
        for r in results.withLock({ $0 }).sorted(by: { $0.seed < $1.seed }) { s.add(r, report: report, replay: replayFlags(coordinators, swarm)) }
        s.threads = workers
        return finish(s, started: started, swarm: swarm)
    }

    static func options(_ seed: UInt64, verbose: Bool, coordinators: Int, swarm: Bool) -> Simulation.Options {
        var o = Simulation.Options(seed: seed)
        o.verbose = verbose
        o.coordinators = coordinators
        o.swarm = swarm
        return o
    }

    static func replayFlags(_ coordinators: Int, _ swarm: Bool) -> String {
        (coordinators > 1 ? " --coordinators \(coordinators)" : "") + (swarm ? " --swarm" : "")
    }

    static func finish(_ summary: Summary, started: Double, swarm: Bool) -> Summary {
        var s = summary
        let elapsed = monotonicSeconds() - started
        s.seconds = (elapsed * 1000).rounded() / 1000
        s.stepsPerSecond = elapsed > 0 ? (Double(s.steps) / elapsed).rounded() : 0
        s.virtualHours = s.virtualHours.rounded()
        s.contendedHours = s.contendedHours.rounded()
        s.swarm = swarm
        return s
    }
}
