import PodiumCore
import PodiumReport

/// The sweep's terminal report: pass@k per budget and the budgets side by side.
public enum ReportText {
    public static func render(sweep: String, results: [RunResult], padMissing: Bool = false, style: TableStyle = .text) -> String {
        let groups = summarize(results, padMissing: padMissing)
        let graded = results.filter(\.graded).count
        let md = style == .markdown
        func heading(_ s: String) -> String { md ? "### " + s : s }
        var out = [md ? "## Sweep \(sweep): \(graded)/\(results.count) runs graded" : "sweep \(sweep): \(graded)/\(results.count) runs graded", "",
                   heading("pass@k (any medal; unbiased estimator, mean over competitions)"), "",
                   renderPassAtK(groups, style: style), "", heading("budget comparison (per complete seed, then mean ± SEM over seeds)"), "",
                   renderComparison(groups, style: style)]
        let byComp = Dictionary(grouping: results.filter(\.graded), by: \.competition)
        if !byComp.isEmpty {
            let budgets = Array(Set(results.map(\.budget))).sorted()
            out += ["", heading("mean score per competition and budget (graded runs)"), ""]
            let rows = byComp.keys.sorted().map { c -> [String] in
                [c] + budgets.map { b in
                    let scores = byComp[c]!.filter { $0.budget == b }.compactMap(\.score)
                    return scores.isEmpty ? "-" : fixed(scores.reduce(0, +) / Double(scores.count), 4)
                }
            }
            out.append(style.render(header: ["competition"] + budgets.map(\.description), rows: rows))
        }
        return out.joined(separator: "\n")
    }
}
