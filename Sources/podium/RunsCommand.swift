import ArgumentParser
import PodiumCoordinator
import PodiumCore
import PodiumReport
import PodiumStore

struct Runs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "One line per run, like squeue/sacct: id, label, state, node, epoch, elapsed, score, medal.")

    @Argument(help: "Sweep file (default: scheduler.json; not needed with --state).") var config: String?
    @OptionGroup var stateOptions: StateOptions
    @Option(name: .customLong("run-state"), help: "Only runs in these states (comma-separated: \(RunState.allCases.map(\.rawValue).joined(separator: ", "))). (--state names the state file.)")
    var runState: String?
    @Option(help: "Only runs of this competition.") var competition: String?
    @Option(help: "text or json.") var format: OutputFormat = .text

    func validate() throws {
        for s in (runState ?? "").split(separator: ",") where RunState(rawValue: String(s)) == nil {
            throw ValidationError("--run-state: '\(s)' is not one of \(RunState.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() throws {
        let opened = try openState(config: config, stateOptions)
        let (store, name) = (opened.store, opened.sweep)
        let states = runState.map { Set($0.split(separator: ",").map(String.init)) }
        let rows = try RunListing.rows(store: store, sweep: name).filter { row in
            (states?.contains(row.state) ?? true) && (competition == nil || row.competition == competition)
        }
        if format == .json { try printJSON(rows); return }
        print(TextTable.render(
            header: ["run", "label", "state", "node", "epoch", "elapsed", "score", "medal"],
            rows: rows.map(Self.cells)))
    }

    static func cells(_ r: RunListing) -> [String] {
        let elapsed: String = r.elapsed_seconds.map { "\(Int($0)) s" } ?? "-"
        let score: String = r.score.map { fixed($0, 5) } ?? "-"
        return [r.run_id, r.label, r.state, r.node ?? "-", String(r.epoch), elapsed, score, r.medal ?? "-"]
    }
}
