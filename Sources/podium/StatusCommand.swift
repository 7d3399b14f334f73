import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodiumCoordinator
import PodiumCore
import PodiumGrading
import PodiumReport
import PodiumStore
import PodiumSystem

/// The state a read-only or operator command works on, the same way for every such command: a sweep file (a positional
/// argument ending in `.json`, default `scheduler.json`), or `--state FILE` alone (then the state's most recent sweep,
/// or `--sweep-name`).
struct StateOptions: ParsableArguments {
    @Option(help: "State database file; works without a sweep file (default: the sweep file's state).") var state: String?
    @Option(help: "Which sweep of the state, when it holds several (default: the sweep file's, else the most recent).") var sweepName: String?
    /// Earlier releases' `cancel`/`retry --config FILE`, still accepted (the positional sweep file is the documented way).
    @Option(name: .customLong("config"), help: .hidden) var legacyConfig: String?
}

/// What an opened state gives a command.
struct OpenedState {
    var store: StateStore
    var sweep: String
    var statePath: String
    /// Infra retries allowed per run (from the sweep file, else the sweep's stored config).
    var maxInfraRetries: Int
    /// The sweep's inventory file (from the sweep file, else the sweep's stored config).
    var inventoryPath: String? = nil
}

/// Splits positional arguments into the sweep file (the one naming an existing `.json` file) and the rest.
func splitConfigArgument(_ args: [String]) -> (config: String?, rest: [String]) {
    guard let i = args.firstIndex(where: { $0.hasSuffix(".json") && FileManager.default.fileExists(atPath: $0) }) else { return (nil, args) }
    var rest = args
    rest.remove(at: i)
    return (args[i], rest)
}

/// Opens the state of a sweep, refusing clearly when there is none yet.
func openState(config given: String?, _ options: StateOptions) throws -> OpenedState {
    let cwd = FileManager.default.currentDirectoryPath
    if given != nil && options.legacyConfig != nil && given != options.legacyConfig {
        throw ConfigError(path: "--config", found: "two sweep files (\(given!) and \(options.legacyConfig!))", expected: "one sweep file")
    }
    let config = given ?? options.legacyConfig
    if options.state != nil && config == nil {
        let path = resolvePath(options.state!, relativeTo: cwd)
        guard FileManager.default.fileExists(atPath: path) else {
            throw ConfigError(path: "--state", found: "no state at \(path)", expected: "the state file of a sweep that has run")
        }
        let store = try StateStore(path: path)
        let names = try store.sweepNames()
        let name: String
        if let want = options.sweepName {
            guard names.contains(want) else {
                throw ConfigError(path: "--sweep-name", found: "'\(want)'", expected: "one of the sweeps in \(path): \(names.joined(separator: ", "))",
                                  fix: nearest(want, in: names).map { "did you mean '\($0)'?" })
            }
            name = want
        } else {
            guard let first = names.first else { throw ConfigError(path: "--state", found: "no sweep in \(path)", expected: "a state a sweep has run in") }
            if names.count > 1 { printError("podium: \(path) holds \(names.count) sweeps (\(names.joined(separator: ", "))); showing the most recent, \(first) (--sweep-name picks another)") }
            name = first
        }
        let stored = try store.sweepConfigJSON(name).flatMap { try? JSONDecoder().decode(SweepConfig.self, from: Data($0.utf8)) }
        return OpenedState(store: store, sweep: name, statePath: path, maxInfraRetries: stored?.maxInfraRetries ?? 3,
                           inventoryPath: stored?.inventory)
    }
    let file = config ?? "scheduler.json"
    var c = try SweepConfig.load(path: file)
    if let s = options.state { c.state = resolvePath(s, relativeTo: cwd) }
    guard FileManager.default.fileExists(atPath: c.state) else {
        throw ConfigError(path: options.state != nil ? "--state" : "\(file): $.state", found: "no state at \(c.state)",
                          expected: "the state file of a sweep that has run", fix: "run `podium sweep \(file)` first")
    }
    if let want = options.sweepName, want != c.sweep {
        throw ConfigError(path: "--sweep-name", found: "'\(want)'", expected: "the sweep of \(file), '\(c.sweep)' (or drop the sweep file to pick by name)")
    }
    return OpenedState(store: try StateStore(path: c.state), sweep: c.sweep, statePath: c.state, maxInfraRetries: c.maxInfraRetries,
                       inventoryPath: c.inventory)
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Runs by state, live attempts per node, GPU/CPU-hours so far and an ETA; --watch keeps it up to date.")

    @Argument(help: "Sweep file (default: scheduler.json; not needed with --state).") var config: String?
    @OptionGroup var stateOptions: StateOptions
    @Option(help: "text or json.") var format: OutputFormat = .text
    @Flag(help: "Refresh until every run has finished (redrawn in place on a terminal, a block every --interval otherwise).") var watch = false
    @Option(help: "Seconds between refreshes with --watch.") var interval: Double = 5

    typealias Output = SweepOverview

    func validate() throws {
        if interval < 0.2 { throw ValidationError("--interval \(interval): use at least 0.2 seconds") }
    }

    func run() throws {
        let opened = try openState(config: config, stateOptions)
        let (store, name, path) = (opened.store, opened.sweep, opened.statePath)
        var first = true
        while true {
            let out = try SweepOverview.read(store: store, sweep: name, statePath: path, inventoryPath: opened.inventoryPath)
            let text = format == .json ? try jsonLine(out) : render(out)
            if watch && stdoutIsTTY && !first {
                // Redraw in place: clear the screen from the top.
                print("\u{1b}[H\u{1b}[2J" + text)
            } else {
                print(text)
            }
            first = false
            guard watch, !out.finished else { return }
            sleepSeconds(interval)
        }
    }

    func render(_ out: Output) -> String {
        var lines = ["sweep \(out.sweep) (\(out.state_file)): \(out.runs_total) runs, \(out.attempts_total) attempts · coordinator \(out.coordinator_running ? "running" : "not running")"]
        lines.append(TextTable.render(header: ["state", "runs"], rows: RunState.allCases.map { [$0.rawValue, String(out.runs[$0.rawValue] ?? 0)] }))
        lines.append("GPU-hours used: \(fixed(out.gpu_hours_used, 2)); CPU-hours used: \(fixed(out.cpu_hours_used, 2))"
                     + (out.nodes.isEmpty ? "" : "; live attempts per node: " + out.nodes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))
        if !out.attempts_by_outcome.isEmpty {
            lines.append(TextTable.render(header: ["attempt outcome", "attempts"], rows: out.attempts_by_outcome.sorted { $0.key < $1.key }.map { [$0.key, String($0.value)] }))
        }
        lines.append(out.eta.line)
        for n in out.node_states { lines.append(n.line) }
        for n in out.node_shares { lines.append(n.line) }
        if let w = out.waiting_on_others { lines.append(w) }
        if let caches = out.data_caches, !caches.isEmpty { lines.append(DataCacheView.table(caches)) }
        if let by = out.attempts_by_backend, !by.isEmpty {
            lines.append("attempts by backend: " + by.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        return lines.joined(separator: "\n")
    }
}

enum ReportFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, markdown, html
}

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "pass@k, medal rates ± SEM, paired comparisons and time curves, from the sweep's state or MLE-bench grading reports.",
        discussion: """
            Formats: text (terminal), json, markdown, html (one self-contained file with SVG plots; needs --output). \
            Seed statistics use complete seeds only unless --pad-missing counts missing results as failures; infra-failed \
            runs are shown apart and never counted as agent failures.
            """)

    @Argument(help: "Sweep file (default: scheduler.json; not needed with --state or --grading-reports).") var config: String?
    @OptionGroup var stateOptions: StateOptions
    @Option(help: "With --grading-reports: the split to aggregate (low, medium, high, split75; needs --mlebench-dir).") var split: String?
    @Option(help: "With --grading-reports: comma-separated competition ids to aggregate.") var competitions: String?
    @Option(help: "With --grading-reports: an mle-bench checkout (for --split).") var mlebenchDir: String?
    @Option(help: "text, json, markdown or html.") var format: ReportFormat = .text
    @Option(help: "Write the report to this file instead of standard output (required for html).") var output: String?
    @Flag(help: "Count missing results as failures instead of dropping incomplete seeds.") var padMissing = false
    @Option(help: "Aggregate a directory of MLE-bench grading reports instead of the sweep's state.") var gradingReports: String?
    @Option(help: "With --grading-reports: the group to aggregate when the reports come from several agents/budgets/profiles (the error lists them).") var group: String?
    @Flag(help: "Pool into one figure what is otherwise kept apart: a sweep's configuration versions, or with --grading-reports reports of different agents/budgets/profiles.") var pool = false
    @Option(help: "Also write the sweep's grades as MLE-bench grading reports (one per seed of each agent/budget/profile) under this directory.")
    var exportGradingReports: String?
    @Option(help: "Bootstrap resamples for the paired comparisons.") var bootstrap = 2000

    struct RunRow: Encodable {
        var id: String
        var competition: String
        var agent: String
        var budget: String
        var profile: String
        var attempt: Int
        var config_version: Int
        var state: String
        var epoch: Int
        var attempts_recorded: Int
        var graded: Bool
        var score: Double?
        var submission_exists: Bool
        var valid_submission: Bool
        var any_medal: Bool
        var gold_medal: Bool
        var silver_medal: Bool
        var bronze_medal: Bool
        var above_median: Bool
        var snapshots_graded: Int
        /// /validate requests of the run's current attempt (MLE-bench contract), how many were valid, and the
        /// coordinator's time on them.
        var validation_requests: Int
        var validation_valid: Int
        var validation_seconds: Double
        /// Agent and config digest, image digest, budget, hardware held, node, podium version, grader.
        var provenance: RunProvenance?
    }

    struct Output: Encodable {
        var sweep: String
        var groups: [GroupSummary]
        var comparisons: [PairedComparison]
        var time_curves: [TimeCurve]
        var time_curves_caveat: String
        var accounting: SweepAccounting
        var runs: [RunRow]
    }

    func validate() throws {
        if format == .html && output == nil { throw ValidationError("--format html writes a file: add --output FILE (e.g. report.html)") }
        if bootstrap < 100 { throw ValidationError("--bootstrap \(bootstrap): use at least 100 resamples") }
        if gradingReports == nil, let flag = [("--split", split), ("--competitions", competitions), ("--mlebench-dir", mlebenchDir), ("--group", group)].first(where: { $0.1 != nil })?.0 {
            throw ValidationError("\(flag) selects competitions of --grading-reports; a sweep's report covers the sweep's own grid (drop \(flag))")
        }
        if gradingReports != nil && (config != nil || stateOptions.state != nil) {
            throw ValidationError("--grading-reports reads a directory of reports, not a sweep's state: drop the sweep file / --state (or --grading-reports)")
        }
    }

    func emit(_ text: String) throws {
        guard let output else { print(text); return }
        try Data(text.utf8).withUnsafeBytes { try writeFileDurably(output, $0) }
        printError("podium: report written to \(output)")
    }

    func run() throws {
        if let dir = gradingReports { return try reportFromGradingReports(dir) }
        let opened = try openState(config: config, stateOptions)
        let (store, name) = (opened.store, opened.sweep)
        let (runs, results, grades) = try SweepResults.collect(store: store, sweep: name)
        if let dir = exportGradingReports {
            let files = try SweepResults.exportGradingReports(store: store, sweep: name, directory: dir)
            printError("podium: wrote \(files.count) grading reports under \(dir)")
        }
        if format == .html {
            return try emit(SweepReportHTML.render(store: store, sweep: name, padMissing: padMissing, bootstrap: bootstrap, poolVersions: pool))
        }
        let groups = summarize(results, padMissing: padMissing, poolVersions: pool)
        let comparisons = PairedComparison.everyAxis(results, samples: bootstrap, poolVersions: pool)
        let curves = TimeCurve.curves(try SweepResults.timedGrades(store: store, sweep: name))
        let accounting = try SweepResults.accounting(store: store, sweep: name)
        switch format {
        case .json:
            let snapshotCounts = Dictionary(grouping: grades.filter { !$0.isFinal }, by: \.key).mapValues(\.count)
            let validations = Dictionary(grouping: try store.validations(sweep: name), by: { AttemptKey($0.runID, $0.epoch) })
            let provenance = try SweepResults.provenance(store: store, sweep: name)
            let rows = zip(runs, results).map { r, x in
                RunRow(id: r.id, competition: r.spec.competition, agent: r.spec.agent, budget: r.spec.budget.description, profile: r.spec.profile,
                       attempt: r.spec.attempt, config_version: r.spec.configVersion, state: r.state.rawValue, epoch: r.epoch, attempts_recorded: x.attemptsRecorded,
                       graded: x.graded, score: x.score,
                       submission_exists: x.submissionExists, valid_submission: x.validSubmission, any_medal: x.anyMedal,
                       gold_medal: x.gold, silver_medal: x.silver, bronze_medal: x.bronze, above_median: x.aboveMedian,
                       snapshots_graded: snapshotCounts[r.key] ?? 0,
                       validation_requests: validations[AttemptKey(r.id, r.epoch)]?.count ?? 0,
                       validation_valid: validations[AttemptKey(r.id, r.epoch)]?.filter { $0.valid == true }.count ?? 0,
                       validation_seconds: (validations[AttemptKey(r.id, r.epoch)] ?? []).reduce(0) { $0 + $1.seconds },
                       provenance: provenance[r.id])
            }
            try emit(jsonLine(Output(sweep: name, groups: groups, comparisons: comparisons, time_curves: curves,
                                     time_curves_caveat: TimeCurve.caveat, accounting: accounting, runs: rows)))
        case .html:
            break  // written above
        case .text, .markdown:
            var text = ReportText.render(sweep: name, results: results, padMissing: padMissing, style: format == .markdown ? .markdown : .text,
                                         poolVersions: pool)
            let style: TableStyle = format == .markdown ? .markdown : .text
            if !comparisons.isEmpty {
                text += "\n\n" + (format == .markdown ? "### " : "") + "paired comparisons (B − A in percentage points, per competition; bootstrap 95% CI)\n\n"
                text += style.render(header: ["axis", "A", "B", "held fixed", "competitions", "B − A", "95% CI"], rows: comparisons.map {
                    [$0.axis.rawValue, $0.a, $0.b, $0.fixed, String($0.numCompetitions), fixed($0.meanDifference), "[\(fixed($0.ciLower)), \(fixed($0.ciUpper))]"]
                })
            }
            text += "\n\n" + style.render(header: ["accounting", ""], rows: accounting.rows.map { [$0.0, $0.1] })
            let validations = try store.validations(sweep: name)
            if !validations.isEmpty {
                let valid = validations.filter { $0.valid == true }.count, unanswered = validations.filter { $0.valid == nil }.count
                text += "\n\nvalidation requests (agents' /validate, answered by the coordinator): \(validations.count) from \(Set(validations.map(\.runID)).count) runs; \(valid) valid, \(validations.count - valid - unanswered) invalid, \(unanswered) not answered"
            }
            text += "\n\n" + style.render(header: ["provenance", ""], rows: Self.provenanceRows(try SweepResults.provenance(store: store, sweep: name)))
            try emit(text)
        }
    }

    /// What the results were produced with, summarized (every value seen, so a mixed sweep shows it).
    static func provenanceRows(_ p: [String: RunProvenance]) -> [[String]] {
        let all = Array(p.values)
        func seen<T: Hashable & Comparable>(_ f: (RunProvenance) -> T?) -> [T] { Array(Set(all.compactMap(f))).sorted() }
        let agents = Set(all.map { "\($0.agent) (\($0.agentSource), config sha256 \($0.agentConfigSHA256.prefix(12)))" }).sorted()
        let hardware = Set(all.map { "\($0.gpus) × \($0.gpuModel ?? ($0.gpus > 0 ? "GPU (stand-in or unknown)" : "no GPU")), \(fixed($0.cpus)) CPUs, \($0.memoryBytes >> 20) MiB" }).sorted()
        return [
            ["agent", agents.joined(separator: "; ").ifEmpty("-")],
            ["image", Set(all.map { "\($0.image)\($0.imageDigest.map { " \($0.prefix(19))" } ?? "")" }).sorted().joined(separator: "; ").ifEmpty("-")],
            ["budgets", seen { $0.budget }.joined(separator: ", ").ifEmpty("-")],
            ["hardware held", hardware.joined(separator: "; ").ifEmpty("-")],
            ["nodes", seen { $0.node }.joined(separator: ", ").ifEmpty("-")],
            ["podium", seen { $0.podiumVersion }.joined(separator: ", ").ifEmpty("-")],
            ["graders", seen { $0.graderEngine }.joined(separator: ", ").ifEmpty("-")],
        ]
    }

    /// `--grading-reports DIR`: MLE-bench's aggregation over a split (`--split`, else every competition in the reports).
    func reportFromGradingReports(_ dir: String) throws {
        let groups = try GradingReportsInput.loadGroups(directory: dir)
        if groups.count > 1 && group == nil && !pool {
            throw ConfigError(path: "--grading-reports", found: "reports of \(groups.count) different agents/budgets/profiles under \(dir): \(groups.keys.sorted().joined(separator: ", "))",
                              expected: "one group per figure (a 24 h and a 100 h budget pooled would be neither)",
                              fix: "pick one with --group \(groups.keys.sorted()[0]) (or --pool to mix them on purpose)")
        }
        let reports = try GradingReportsInput.load(directory: dir, group: group)
        var ids = reports.keys.sorted()
        var splitName = "all competitions in the reports"
        if let split {
            guard let mle = mlebenchDir else {
                throw ConfigError(path: "--split", found: "no --mlebench-dir", expected: "--mlebench-dir to read the split from")
            }
            ids = try CompetitionRegistry.load(mlebenchDir: mle).ids(inSplit: split, source: "--split")
            splitName = split
        } else if let list = competitions {
            ids = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            splitName = "custom"
        }
        let competitions = ids
        let results = GradingReportsInput.results(reports, competitions: competitions)
        let r = SplitReport(split: splitName, competitions: competitions, results: results, padMissing: padMissing)
        if format == .json { try emit(jsonLine(r)); return }
        if format == .html {
            let group = GroupSummary(budget: BudgetDuration(seconds: 0), profile: "-", results: results, padMissing: padMissing)
            let html = HTMLReport(title: "podium · MLE-bench grading reports (\(splitName))",
                                  subtitle: "\(dir): \(r.num_competitions) competitions, \(r.num_seeds) \(padMissing ? "seeds (missing counted as failures)" : "complete seeds")",
                                  groups: [group], results: results,
                                  notes: ["Reports read in sorted path order; seed i of a competition is its i-th report (MLE-bench's convention)."]
                                      + (r.competitions_without_reports.isEmpty ? [] : ["No reports for: " + r.competitions_without_reports.joined(separator: ", ")]))
            try emit(html.render())
            return
        }
        func cell(_ m: MeanSEM) -> String { "\(fixed(m.mean))% ± \(fixed(m.standardError)) (95% CI \(fixed(m.ciLower))–\(fixed(m.ciUpper)))" }
        var lines = ["\(splitName): \(r.num_competitions) competitions, \(r.num_seeds) \(padMissing ? "seeds (missing counted as failures)" : "complete seeds")"]
        lines.append((format == .markdown ? TableStyle.markdown : .text).render(header: ["metric", "mean ± SEM over seeds"], rows: [
            ["any medal", cell(r.any_medal_percentage)], ["gold", cell(r.gold_medal_percentage)],
            ["silver", cell(r.silver_medal_percentage)], ["bronze", cell(r.bronze_medal_percentage)],
            ["above median", cell(r.above_median_percentage)], ["valid submission", cell(r.valid_submissions_percentage)],
            ["made submission", cell(r.submission_exists_percentage)],
        ] + r.pass_at_k.keys.compactMap(Int.init).sorted().map { ["pass@\($0)", fixed(r.pass_at_k[String($0)]!) + "%"] }))
        if !r.competitions_without_reports.isEmpty {
            lines.append("no reports for \(r.competitions_without_reports.count) competitions of the split" + (padMissing ? " (counted as failures)" : " (their seeds are incomplete; --pad-missing counts them as failures)"))
        }
        try emit(lines.joined(separator: "\n"))
    }
}

/// One line of JSON (sorted keys; NaN/±inf as strings).
func jsonLine<T: Encodable>(_ value: T) throws -> String {
    String(decoding: try ReportJSON.encoder().encode(value), as: UTF8.self)
}
