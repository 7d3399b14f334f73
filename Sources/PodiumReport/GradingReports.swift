#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodiumCore
import PodiumGrading

/// Results produced by other tools: a directory of MLE-bench grading reports (`*grading_report.json`).
/// MLE-bench's convention: files in sorted path order, each file's competition reports sorted by id,
/// and seed i of a competition = its i-th report.
public enum GradingReportsInput {
    struct File: Decodable { var competition_reports: [CompetitionReport] }

    /// competition id → its reports in seed order, of one group (`group`), or of every group pooled (`group` nil).
    /// A group is what the reports were made with: agent/budget/profile from podium's provenance, else the report's
    /// directory relative to `directory` (podium exports `<agent>/<budget>/<profile>/seed_NNN_grading_report.json`).
    public static func load(directory: String, group: String? = nil) throws -> [String: [CompetitionReport]] {
        let groups = try loadGroups(directory: directory)
        if let group {
            guard let g = groups[group] else {
                throw ConfigError(path: "--group", found: "'\(group)'", expected: "one of the groups under \(directory): \(groups.keys.sorted().joined(separator: ", "))",
                                  fix: nearest(group, in: groups.keys).map { "did you mean '\($0)'?" })
            }
            return g
        }
        var pooled = [String: [CompetitionReport]]()
        for key in groups.keys.sorted() { for (c, rs) in groups[key]! { pooled[c, default: []] += rs } }
        return pooled
    }

    /// Every group of reports under `directory`: group → competition id → reports in seed order.
    public static func loadGroups(directory: String) throws -> [String: [String: [CompetitionReport]]] {
        let fm = FileManager.default
        guard let all = try? fm.subpathsOfDirectory(atPath: directory) else {
            throw ConfigError(path: "--grading-reports", found: "no directory at \(directory)", expected: "a directory of MLE-bench grading reports")
        }
        let files = all.filter { $0.hasSuffix("grading_report.json") }.sorted()
        guard !files.isEmpty else {
            throw ConfigError(path: "--grading-reports", found: "no *grading_report.json under \(directory)",
                              expected: "reports written by `mlebench grade` or `podium grade`")
        }
        var groups = [String: [String: [CompetitionReport]]]()
        for rel in files {
            let path = directory + "/" + rel
            guard let data = fm.contents(atPath: path) else { continue }
            let file: File
            do { file = try ReportJSON.decode(File.self, from: data) } catch {
                throw ConfigError(file: path, found: "a file that is not an MLE-bench grading report (\(error))",
                                  expected: "an object with competition_reports")
            }
            let folder = rel.contains("/") ? String(rel[..<rel.lastIndex(of: "/")!]) : "."
            for r in file.competition_reports.sorted(by: { $0.competitionID < $1.competitionID }) {
                let key = r.provenance.map { "\($0.agent)/\($0.budget)/\($0.profile)" } ?? folder
                groups[key, default: [:]][r.competitionID, default: []].append(r)
            }
        }
        return groups
    }

    /// One result per (competition of the split, seed); a seed without a report for a competition is ungraded.
    public static func results(_ reports: [String: [CompetitionReport]], competitions: [String]) -> [RunResult] {
        let seeds = competitions.map { reports[$0]?.count ?? 0 }.max() ?? 0
        var out = [RunResult]()
        for c in competitions {
            let rs = reports[c] ?? []
            for seed in 0..<seeds {
                guard seed < rs.count else {
                    out.append(RunResult(competition: c, budget: BudgetDuration(seconds: 0), profile: "-", attempt: seed + 1, graded: false))
                    continue
                }
                let r = rs[seed]
                out.append(RunResult(competition: c, budget: BudgetDuration(seconds: 0), profile: "-", attempt: seed + 1, graded: true,
                                     submissionExists: r.submissionExists, validSubmission: r.validSubmission,
                                     aboveMedian: r.aboveMedian, gold: r.goldMedal, silver: r.silverMedal, bronze: r.bronzeMedal,
                                     score: r.score))
            }
        }
        return out
    }
}

/// The split-level aggregate `podium report` prints (MLE-bench's fields).
public struct SplitReport: Encodable, Sendable {
    public var split: String
    public var num_competitions: Int
    public var num_seeds: Int
    public var pad_missing: Bool
    public var any_medal_percentage: MeanSEM
    public var gold_medal_percentage: MeanSEM
    public var silver_medal_percentage: MeanSEM
    public var bronze_medal_percentage: MeanSEM
    public var above_median_percentage: MeanSEM
    public var valid_submissions_percentage: MeanSEM
    public var submission_exists_percentage: MeanSEM
    public var pass_at_k: [String: Double]
    public var competitions_without_reports: [String]

    public init(split: String, competitions: [String], results: [RunResult], padMissing: Bool) {
        let g = GroupSummary(budget: BudgetDuration(seconds: 0), profile: "-", results: results, padMissing: padMissing)
        self.split = split
        num_competitions = competitions.count
        num_seeds = g.numSeeds
        pad_missing = padMissing
        any_medal_percentage = g.anyMedalPercentage
        gold_medal_percentage = g.goldMedalPercentage
        silver_medal_percentage = g.silverMedalPercentage
        bronze_medal_percentage = g.bronzeMedalPercentage
        above_median_percentage = g.aboveMedianPercentage
        valid_submissions_percentage = g.validSubmissionsPercentage
        submission_exists_percentage = g.submissionExistsPercentage
        pass_at_k = g.passAtK
        let graded = Set(results.filter(\.graded).map(\.competition))
        competitions_without_reports = competitions.filter { !graded.contains($0) }
    }
}
