import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodiumCoordinator
import PodiumCore
import PodiumGrading
import PodiumStore
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import PodiumSystem

struct Leaderboard: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Medal thresholds of a competition's leaderboard (MLE-bench's rule).")

    @Argument(help: "Competition id.") var id: String
    @Option(help: "An mle-bench checkout.") var mlebenchDir: String
    @Option(help: "text or json.") var format: OutputFormat = .text

    func run() throws {
        let reg = try CompetitionRegistry.load(mlebenchDir: mlebenchDir)
        guard let c = reg.competitions[id] else {
            throw ConfigError(path: "ID", found: "unknown competition '\(id)'", expected: "an id under \(mlebenchDir)/mlebench/competitions",
                              fix: nearest(id, in: reg.competitions.keys).map { "did you mean '\($0)'?" })
        }
        guard let path = c.leaderboardPath else {
            printError("podium leaderboard: \(id) has no leaderboard.csv in \(c.directory)")
            throw ExitCode(1)
        }
        let board = try PodiumGrading.Leaderboard.load(path: path)
        if format == .json { try printJSON(board); return }
        print("\(id): \(board.numTeams) teams, \(board.isLowerBetter ? "lower" : "higher") is better")
        print("gold \(board.goldThreshold) · silver \(board.silverThreshold) · bronze \(board.bronzeThreshold) · median \(board.medianThreshold)")
    }
}

struct Logs: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the central copy of a run's agent log (newest attempt); --follow keeps printing as it grows.")

    @Argument(help: ArgumentHelp("[sweep file] run: the run is an id, a unique prefix of one, or the label `podium sweep` prints (competition/budget/profile/aN; `podium runs` lists them); the sweep file (default scheduler.json) may come before or after it.", valueName: "run"))
    var arguments: [String]
    @Flag(help: "Keep printing new output until the run is finished (the coordinator streams it in while `podium sweep` runs).") var follow = false
    @OptionGroup var stateOptions: StateOptions

    func validate() throws {
        let (_, rest) = splitConfigArgument(arguments)
        guard rest.count == 1 else {
            throw ValidationError(rest.isEmpty ? "name the run (an id, a prefix, or a label such as wine-cultivar/30s/cpu/a1)"
                                               : "one run at a time: got \(rest.joined(separator: " "))")
        }
    }

    func run() throws {
        let (config, rest) = splitConfigArgument(arguments)
        let opened = try openState(config: config, stateOptions)
        let (store, name, statePath) = (opened.store, opened.sweep, opened.statePath)
        var r = try RunListing.resolve([rest[0]], runs: store.runs(sweep: name), statePath: statePath)[0]
        let runID = r.id
        var offset: Int64 = 0
        while true {
            let path = AttemptStorage(root: AttemptStorage.root(statePath: statePath, sweep: r.spec.sweep)).logPath(r.key)
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd >= 0 {
                var buf = [UInt8](repeating: 0, count: 1 << 16)
                while true {
                    let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
                    if n <= 0 { break }
                    FileHandleLite.writeStdout(Array(buf[0..<n]))
                    offset += Int64(n)
                }
                close(fd)
            } else if !follow {
                printError("podium logs: no central log yet for \(r.spec.label) attempt \(r.epoch) (\(path))")
                throw ExitCode(1)
            }
            guard follow else { return }
            if r.state.isTerminal || r.state == .collecting || r.state == .grading { return }
            sleepSeconds(1)
            guard let now = try store.run(runID) else { return }
            if now.epoch != r.epoch {
                printError("\n[podium logs: attempt \(r.epoch) ended; following attempt \(now.epoch)]")
                offset = 0
            }
            r = now
        }
    }
}

enum FileHandleLite {
    static func writeStdout(_ bytes: [UInt8]) { bytes.withUnsafeBytes { writeAll(1, $0) } }
}
