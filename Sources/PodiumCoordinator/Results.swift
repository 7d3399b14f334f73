#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodiumCore
import PodiumGrading
import PodiumReport
import PodiumStore

/// Turns the state into per-run results for the report: the final grade of each run's newest attempt.
public enum SweepResults {
    public static func collect(store: StateStore, sweep: String) throws -> (runs: [RunRecord], results: [RunResult], grades: [GradeRecord]) {
        let runs = try store.runs(sweep: sweep)
        let grades = try store.grades(sweep: sweep)
        var finals = [String: GradeRecord]()
        for g in grades where g.isFinal { finals["\(g.runID)#\(g.epoch)"] = g }
        let results = runs.map { r -> RunResult in
            let g = r.state == .completed ? finals["\(r.id)#\(r.epoch)"] : nil
            return RunResult(competition: r.spec.competition, budget: r.spec.budget, profile: r.spec.profile,
                             attempt: r.spec.attempt, graded: g != nil, infraFailed: r.state == .failed,
                             submissionExists: g?.submissionExists ?? false,
                             validSubmission: g?.valid ?? false, aboveMedian: g?.aboveMedian ?? false,
                             gold: g?.gold ?? false, silver: g?.silver ?? false, bronze: g?.bronze ?? false, score: g?.score)
        }
        return (runs, results, grades)
    }
}

extension SweepResults {
    /// Writes the sweep's final grades as MLE-bench grading reports, one per seed of each (agent, budget, profile):
    /// `<directory>/<agent>/<budget>/<profile>/seed_NNN_grading_report.json`, each holding the competition reports of
    /// that attempt index (only runs graded so far). `podium report --grading-reports` on one group's directory, or
    /// MLE-bench's own aggregation, reads them back. Returns the files written.
    @discardableResult
    public static func exportGradingReports(store: StateStore, sweep: String, directory: String) throws -> [String] {
        let runs = try store.runs(sweep: sweep)
        var finals = [String: GradeRecord]()
        for g in try store.grades(sweep: sweep) where g.isFinal { finals["\(g.runID)#\(g.epoch)"] = g }
        var groups = [String: [CompetitionReport]]()
        for r in runs where r.state == .completed {
            guard let g = finals["\(r.id)#\(r.epoch)"],
                  let report = try? ReportJSON.decode(CompetitionReport.self, from: Data(g.reportJSON.utf8)) else { continue }
            let seed = String(r.spec.attempt - 1)
            let key = [safeName(r.spec.agent), safeName(r.spec.budget.description), safeName(r.spec.profile),
                       "seed_" + String(repeating: "0", count: max(0, 3 - seed.count)) + seed].joined(separator: "/")
            groups[key, default: []].append(report)
        }
        var written = [String]()
        let enc = ReportJSON.encoder(sorted: false)
        for (key, reports) in groups.sorted(by: { $0.key < $1.key }) {
            let path = "\(directory)/\(key)_grading_report.json"
            try FileManager.default.createDirectory(atPath: directoryOf(path), withIntermediateDirectories: true)
            let data = try enc.encode(GradingReport(reports: reports.sorted { $0.competitionID < $1.competitionID }))
            try data.withUnsafeBytes { try writeFileDurably(path, $0) }
            written.append(path)
        }
        return written
    }

    static func safeName(_ s: String) -> String {
        String(s.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "_" })
    }
}
