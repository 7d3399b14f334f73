import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodiumCore
import PodiumDST
import PodiumSystem

struct DST: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dst",
        abstract: "Deterministic simulation of the whole coordinator under seeded faults (scripts/dst).",
        discussion: """
        Each seed drives the real coordinator instance, scheduler and run state machine against simulated places, a \
        simulated durable store and a virtual clock, with node disconnects, partitions shorter and longer than \
        lost_after, daemon restarts, reboots, node deaths, coordinator crashes, failed commits, slow grading, damaged \
        logs and operator cancel/retry. The invariants are checked after every step. The last line is one JSON object.
        """)

    @Option(help: "How many seeds to run (from --first); with --minutes, at most this many.") var seeds: Int?
    @Option(help: "Run seeds for this many minutes (on every core) instead of a count.") var minutes: Double?
    @Option(help: "Threads to run seeds on (default: every core).") var threads: Int?
    @Flag(help: "Swarm mode: each seed draws its own fault mix (kinds left out or tripled), so rare combinations get tried.") var swarm = false
    @Option(help: "The first seed.") var first: UInt64 = 1
    @Option(help: "Replay this one seed (with --verbose: every fault and directive).") var seed: UInt64?
    @Flag(help: "Print every fault and directive.") var verbose = false
    @Option(help: "text or json (the last line is JSON either way).") var format: String = "text"
    @Option(help: "Coordinators per seed: several sweeps, each with its own state and grid, sharing the same places and their daemons (multi-coordinator mode), each crashing and restarting under the faults.") var coordinators: Int = 1

    func validate() throws {
        if let seeds { guard seeds >= 1 else { throw ValidationError("--seeds must be at least 1") } }
        if let minutes { guard minutes > 0 else { throw ValidationError("--minutes must be above 0") } }
        if let threads { guard threads >= 1 else { throw ValidationError("--threads must be at least 1") } }
        guard (1...8).contains(coordinators) else { throw ValidationError("--coordinators must be between 1 and 8") }
        guard ["text", "json"].contains(format) else { throw ValidationError("--format must be text or json") }
    }

    func run() throws {
        let summary: DSTRun.Summary
        if let seed {
            summary = DSTRun.run(seeds: [seed], verbose: verbose, coordinators: coordinators, swarm: swarm) { printError($0) }
        } else {
            let cores = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
            summary = DSTRun.run(first: first, count: minutes == nil ? (seeds ?? 200) : seeds, seconds: minutes.map { $0 * 60 },
                                 threads: threads ?? cores, coordinators: coordinators, swarm: swarm) { printError($0) }
        }
        if format == "text" {
            print("dst: \(summary.seeds) seeds\(coordinators > 1 ? " of \(coordinators) coordinators" : "")\(swarm ? " (swarm)" : "") on \(summary.threads) thread(s), \(summary.steps) steps (\(Int(summary.stepsPerSecond))/s), \(summary.crashes) coordinator crashes, \(summary.faults) faults, \(summary.violations) violations in \(summary.seconds) s")
        }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        print(String(decoding: try enc.encode(summary), as: UTF8.self))
        if summary.violations > 0 { throw ExitCode(1) }
    }
}
