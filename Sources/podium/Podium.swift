import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import PodiumCore
import PodiumCoordinator
import PodiumWorker
import PodiumSystem

@main
struct Podium: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "podium",
        abstract: "Run MLE-bench-style agent evaluations across GPU nodes, grade them centrally, report pass@k and medals.",
        version: podiumVersion,
        subcommands: [Plan.self, Competitions.self, Sweep.self, Status.self, Report.self, Leaderboard.self, Logs.self,
                      Grade.self, Validate.self, Agents.self, Simulate.self, Nodes.self, Cancel.self, Retry.self, Runs.self, Serve.self, DST.self])

    /// Usage and config errors exit 2 with a message naming the file, field or flag; other failures exit 1.
    static func main() {
        do {
            var arguments = Array(CommandLine.arguments.dropFirst())
            try Diagnostics.bootstrap(arguments: &arguments)
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch let e as ConfigError {
            printError(e.description)
            Glibc.exit(2)
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                printError(fullMessage(for: error))
                Glibc.exit(2)
            }
            exit(withError: error)
        }
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// The sweep file and the flags that override it, shared by plan, sweep, status and report.
struct SweepOptions: ParsableArguments {
    @Argument(help: "Sweep file.") var config: String = "scheduler.json"
    @Option(help: "Competition split: low (Lite), medium, high, split75, or any split file of the mle-bench dir.") var split: String?
    @Option(help: "Comma-separated competition ids.") var competitions: String?
    @Option(help: "Attempts (seeds) per competition and budget.") var attempts: Int?
    @Option(help: "Comma-separated time budgets, e.g. 24h,100h.") var budgets: String?
    @Option(help: "An mle-bench checkout (leaderboards, splits).") var mlebenchDir: String?
    @Option(help: "Prepared data directory (<id>/prepared/{public,private}).") var dataDir: String?
    @Option(help: "Worker inventory file.") var inventory: String?
    @Option(help: "State database file.") var state: String?

    var overrides: SweepOverrides {
        var o = SweepOverrides()
        o.split = split
        o.competitions = competitions.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        o.attempts = attempts
        o.budgets = budgets.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        o.mlebenchDir = mlebenchDir
        o.dataDir = dataDir
        o.inventory = inventory
        o.state = state
        return o
    }

    func validate() throws {
        if split != nil && competitions != nil {
            throw ValidationError("--split and --competitions select competitions both; give one")
        }
    }
}

/// `--mlebench-dir`, else the mlebench_dir of ./scheduler.json (the commands that read a checkout without a sweep).
func mlebenchDirOrDefault(_ given: String?) throws -> String {
    if let given { return given }
    guard let c = try? SweepConfig.load(path: "scheduler.json") else {
        throw ConfigError(path: "--mlebench-dir", found: "nothing (and no ./scheduler.json)", expected: "an mle-bench checkout directory")
    }
    return c.mlebenchDir
}

/// Encodes as sorted, slash-preserving JSON on one line.
func printJSON<T: Encodable>(_ value: T) throws {
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
    print(String(decoding: try enc.encode(value), as: UTF8.self))
}

