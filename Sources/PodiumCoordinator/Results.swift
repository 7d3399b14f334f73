import PodiumCore
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
