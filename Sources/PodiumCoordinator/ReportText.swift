import PodiumCore
import PodiumReport

/// The sweep's terminal report: pass@k per budget and the budgets side by side.
public enum ReportText {
    public static func render(sweep: String, results: [RunResult], padMissing: Bool = false) -> String {
        let groups = summarize(results, padMissing: padMissing)
        let graded = results.filter(\.graded).count
        var out = ["sweep \(sweep): \(graded)/\(results.count) runs graded", "", "pass@k (any medal; unbiased estimator, mean over competitions)",
                   renderPassAtK(groups), "", "budget comparison (per complete seed, then mean ± SEM over seeds)", renderComparison(groups)]
        let byComp = Dictionary(grouping: results.filter(\.graded), by: \.competition)
        if !byComp.isEmpty {
            let budgets = Array(Set(results.map(\.budget))).sorted()
            out += ["", "mean score per competition and budget (graded runs)"]
            let rows = byComp.keys.sorted().map { c -> [String] in
                [c] + budgets.map { b in
                    let scores = byComp[c]!.filter { $0.budget == b }.compactMap(\.score)
                    return scores.isEmpty ? "-" : fixed(scores.reduce(0, +) / Double(scores.count), 4)
                }
            }
            out.append(TextTable.render(header: ["competition"] + budgets.map(\.description), rows: rows))
        }
        return out.joined(separator: "\n")
    }
}
