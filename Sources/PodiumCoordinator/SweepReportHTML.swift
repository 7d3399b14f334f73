import PodiumCore
import PodiumGrading
import PodiumReport
import PodiumStore

/// The sweep's HTML report (pass@k, medal rates ± SEM, paired comparisons, time curves): `podium report --format html`
/// writes it to a file, the dashboard serves it at /report.
public enum SweepReportHTML {
    public static func render(store: StateStore, sweep name: String, padMissing: Bool = false, bootstrap: Int = 2000,
                              poolVersions: Bool = false) throws -> String {
        let (_, results, _) = try SweepResults.collect(store: store, sweep: name)
        let groups = summarize(results, padMissing: padMissing, poolVersions: poolVersions)
        let comparisons = PairedComparison.everyAxis(results, samples: bootstrap, poolVersions: poolVersions)
        let curves = TimeCurve.curves(try SweepResults.timedGrades(store: store, sweep: name))
        let accounting = try SweepResults.accounting(store: store, sweep: name)
        return HTMLReport(title: "podium · sweep \(name)",
                          subtitle: "\(accounting.runsGraded)/\(accounting.runsTotal) runs graded · \(padMissing ? "missing results counted as failures" : "complete seeds only")",
                          groups: groups, results: results, comparisons: comparisons, curves: curves,
                          accounting: accounting.rows,
                          notes: ["pass@k uses the unbiased estimator 1 − C(n−c, k)/C(n, k) over each competition's graded attempts.",
                                  "Seed i is attempt i of every competition; a seed counts when all its competitions are graded (or with --pad-missing)."]
                            + ConfigVersionsNote.text(results, pooled: poolVersions).map { [$0] }.orEmpty)
            .render()
    }
}
