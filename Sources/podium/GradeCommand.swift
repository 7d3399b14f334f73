import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodiumCore
import PodiumGrading

struct Grade: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Grade one submission and place it on the competition's leaderboard (MLE-bench's CompetitionReport).",
        discussion: """
            Competitions graded natively today: those whose config.yaml names `engine: podium-generic` (the bundled \
            mini benchmark, or your own laid out that way). MLE-bench's per-competition graders and the batch mode \
            (--jsonl, like `mlebench grade`) are issue 6: for those competitions the report says so and the exit code is 1.
            """)

    @Option(help: "Competition id.") var competition: String
    @Option(help: "The submission CSV.") var submission: String
    @Option(help: "The answers CSV (prepared/private/test.csv).") var answers: String
    @Option(help: "An mle-bench checkout (or a directory laid out like one).") var mlebenchDir: String
    @Option(help: "text or json.") var format: OutputFormat = .text
    @Option(help: "A JSONL batch like `mlebench grade` takes (not built yet: issue 6).") var jsonl: String?

    func run() throws {
        if jsonl != nil {
            printError("podium grade --jsonl: not built yet (issue 6)")
            throw ExitCode(3)
        }
        let reg = try CompetitionRegistry.load(mlebenchDir: mlebenchDir)
        guard let c = reg.competitions[competition] else {
            throw ConfigError(path: "--competition", found: "unknown competition '\(competition)'",
                              expected: "an id under \(mlebenchDir)/mlebench/competitions",
                              fix: nearest(competition, in: reg.competitions.keys).map { "did you mean '\($0)'?" })
        }
        guard FileManager.default.fileExists(atPath: answers) else {
            throw ConfigError(path: "--answers", found: "no file at \(answers)", expected: "the competition's answers CSV")
        }
        let report = GradingService().grade(competition: c, submissionPath: submission, answersPath: answers)
        if format == .json {
            try printJSON(report)
        } else {
            print("\(c.id): " + (report.score.map { "score \($0)" } ?? "no score") + " (engine \(report.engine ?? "none"))")
            if let g = report.goldThreshold, let s = report.silverThreshold, let b = report.bronzeThreshold, let m = report.medianThreshold {
                print("thresholds: gold \(g) · silver \(s) · bronze \(b) · median \(m) (\(report.isLowerBetter == true ? "lower" : "higher") is better)")
            }
            let medal = report.goldMedal ? "gold" : report.silverMedal ? "silver" : report.bronzeMedal ? "bronze" : "no medal"
            print("\(medal)\(report.aboveMedian ? ", above median" : ""); valid: \(report.validSubmission)")
            if let e = report.error { print("error: \(e)") }
        }
        if report.engine == nil { throw ExitCode(1) }
    }
}
