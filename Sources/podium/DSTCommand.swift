import ArgumentParser
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

    @Option(help: "How many seeds to run (from --first).") var seeds: Int = 200
    @Option(help: "The first seed.") var first: UInt64 = 1
    @Option(help: "Replay this one seed (with --verbose: every fault and directive).") var seed: UInt64?
    @Flag(help: "Print every fault and directive.") var verbose = false
    @Option(help: "text or json (the last line is JSON either way).") var format: String = "text"
    @Option(help: "Coordinators per seed: several sweeps, each with its own state and grid, sharing the same places and their daemons (multi-coordinator mode), each crashing and restarting under the faults.") var coordinators: Int = 1

    func validate() throws {
        guard seeds >= 1 else { throw ValidationError("--seeds must be at least 1") }
        guard (1...8).contains(coordinators) else { throw ValidationError("--coordinators must be between 1 and 8") }
        guard ["text", "json"].contains(format) else { throw ValidationError("--format must be text or json") }
    }

    func run() throws {
        let list: [UInt64] = seed.map { [$0] } ?? (0..<UInt64(seeds)).map { first + $0 }
        let summary = DSTRun.run(seeds: list, verbose: verbose, coordinators: coordinators) { printError($0) }
        if format == "text" {
            print("dst: \(summary.seeds) seeds\(coordinators > 1 ? " of \(coordinators) coordinators" : ""), \(summary.steps) steps, \(summary.crashes) coordinator crashes, \(summary.faults) faults, \(summary.violations) violations in \(summary.seconds) s")
        }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        print(String(decoding: try enc.encode(summary), as: UTF8.self))
        if summary.violations > 0 { throw ExitCode(1) }
    }
}
