import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodiumCore
import PodiumGrading
import PodiumSystem

struct Grade: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Grade submissions and place them on the competitions' leaderboards (MLE-bench's CompetitionReport).",
        discussion: """
            One submission: --competition, --submission, --answers. A batch like `mlebench grade`: --jsonl FILE (lines \
            {"competition_id": …, "submission_path": …}) with --output-dir; the answers come from --data-dir (a prepared-data \
            root as `mlebench prepare` leaves it), and a <timestamp>_grading_report.json is written there.
            Engines: native graders for all 75 MLE-bench competitions (each reproduces the official graders' parity fixtures), \
            `podium-generic` for competitions laid out that way, and the official `mlebench grade` (on PATH or \
            $PODIUM_MLEBENCH) for anything else. Exit 1 when a submission could not be graded at all (no engine, no answers).
            """)

    @Option(help: "Competition id (single mode).") var competition: String?
    @Option(help: "The submission CSV (single mode).") var submission: String?
    @Option(help: "The answers file, e.g. <data-dir>/<id>/prepared/private/test.csv (single mode).") var answers: String?
    @Option(help: "An mle-bench checkout (or a directory laid out like one).") var mlebenchDir: String
    @Option(help: "text or json.") var format: OutputFormat = .text
    @Option(help: "A JSONL batch like `mlebench grade --submission` takes.") var jsonl: String?
    @Option(help: "Where the batch's grading report is written.") var outputDir: String?
    @Option(help: "Prepared-data root for the batch's answers (default $MLEBENCH_DATA_DIR, else ~/.cache/mle-bench/data).")
    var dataDir: String?

    func validate() throws {
        if jsonl != nil {
            if competition != nil || submission != nil || answers != nil {
                throw ValidationError("--jsonl grades a batch; drop --competition/--submission/--answers (or drop --jsonl)")
            }
            if outputDir == nil { throw ValidationError("--jsonl needs --output-dir for the grading report") }
        } else if competition == nil || submission == nil || answers == nil {
            throw ValidationError("give --competition, --submission and --answers (one submission), or --jsonl with --output-dir (a batch)")
        }
    }

    func run() throws {
        let reg = try CompetitionRegistry.load(mlebenchDir: mlebenchDir)
        if let jsonl { return try runBatch(jsonl, registry: reg) }
        let c = try lookup(competition!, in: reg, field: "--competition")
        guard FileManager.default.fileExists(atPath: answers!) else {
            throw ConfigError(path: "--answers", found: "no file at \(answers!)", expected: "the competition's answers file",
                              fix: "point it at <prepared-data>/\(c.answersFile ?? "\(c.id)/prepared/private/test.csv")")
        }
        let report = GradingService().grade(competition: c, submissionPath: submission!, answersPath: answers!)
        if format == .json {
            try printReportJSON(report)
        } else {
            printText(report)
        }
        if report.engine == nil { throw ExitCode(1) }
    }

    func lookup(_ id: String, in reg: CompetitionRegistry, field: String) throws -> Competition {
        guard let c = reg.competitions[id] else {
            throw ConfigError(path: field, found: "unknown competition '\(id)'",
                              expected: "an id under \(mlebenchDir)/mlebench/competitions",
                              fix: nearest(id, in: reg.competitions.keys).map { "did you mean '\($0)'?" })
        }
        return c
    }

    struct Line: Decodable {
        var competition_id: String
        var submission_path: String
    }

    func runBatch(_ path: String, registry: CompetitionRegistry) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(file: path, found: "no such file", expected: "a JSONL file of {\"competition_id\", \"submission_path\"} lines")
        }
        let env = ProcessInfo.processInfo.environment
        let root = dataDir ?? env["MLEBENCH_DATA_DIR"] ?? (env["HOME"] ?? "~") + "/.cache/mle-bench/data"
        var items = [(Competition, String)]()
        for (n, raw) in data.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            let text = String(decoding: raw, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if text.isEmpty { continue }
            let line: Line
            do { line = try JSONDecoder().decode(Line.self, from: Data(text.utf8)) } catch {
                throw ConfigError(file: path, path: "line \(n + 1)", found: "'\(text.prefix(80))'",
                                  expected: "a JSON object with string fields competition_id and submission_path")
            }
            items.append((try lookup(line.competition_id, in: registry, field: "\(path) line \(n + 1): competition_id"), line.submission_path))
        }
        guard !items.isEmpty else { throw ConfigError(file: path, found: "no lines", expected: "one JSON object per submission") }
        let service = GradingService()
        var reports = [CompetitionReport]()
        var ungradable = 0
        let progress = CountProgress(total: items.count, label: "graded")
        for (c, sub) in items {
            let subPath = sub  // relative paths are relative to the working directory, as for mlebench
            let answers = c.answersPath(dataDir: root)
            var r = service.grade(competition: c, submissionPath: subPath, answersPath: answers)
            if !FileManager.default.fileExists(atPath: answers) {
                r.error = "no answers at \(answers): pass --data-dir (the prepared-data root)"
                ungradable += 1
            } else if r.engine == nil {
                ungradable += 1
            }
            reports.append(r)
            progress.advance()
        }
        progress.finish()
        let report = GradingReport(reports: reports)
        try FileManager.default.createDirectory(atPath: outputDir!, withIntermediateDirectories: true)
        let out = outputDir! + "/" + GradingReport.fileName(at: Date())
        let bytes = try ReportJSON.encoder(sorted: false).encode(report)
        try bytes.withUnsafeBytes { try writeFileDurably(out, $0) }
        if format == .json {
            try printReportJSON(report)
        } else {
            for r in reports { printText(r) }
            print("\(report.totalRuns) graded: \(report.totalValidSubmissions) valid, \(report.totalMedals) medals "
                  + "(\(report.totalGoldMedals) gold, \(report.totalSilverMedals) silver, \(report.totalBronzeMedals) bronze), "
                  + "\(report.totalAboveMedian) above median")
        }
        printError("grading report: \(out)")
        if ungradable > 0 {
            printError("\(ungradable) submission\(ungradable == 1 ? "" : "s") could not be graded (no engine or no answers): see their error field")
            throw ExitCode(1)
        }
    }

    func printText(_ report: CompetitionReport) {
        print("\(report.competitionID): " + (report.score.map { "score \($0)" } ?? "no score") + " (engine \(report.engine ?? "none"))")
        if let g = report.goldThreshold, let s = report.silverThreshold, let b = report.bronzeThreshold, let m = report.medianThreshold {
            print("  thresholds: gold \(g) · silver \(s) · bronze \(b) · median \(m) (\(report.isLowerBetter == true ? "lower" : "higher") is better)")
        }
        let medal = report.goldMedal ? "gold" : report.silverMedal ? "silver" : report.bronzeMedal ? "bronze" : "no medal"
        print("  \(medal)\(report.aboveMedian ? ", above median" : ""); valid: \(report.validSubmission)")
        if let e = report.error { print("  error: \(e)") }
    }
}

/// Reports as one line of JSON; NaN/±inf scores as "NaN"/"Infinity"/"-Infinity".
func printReportJSON<T: Encodable>(_ value: T) throws {
    print(String(decoding: try ReportJSON.encoder().encode(value), as: UTF8.self))
}
