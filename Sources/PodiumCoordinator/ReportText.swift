import PodiumCore
import PodiumReport

/// The sweep's terminal report: pass@k per budget and the budgets side by side.
public enum ReportText {
    public static func render(sweep: String, results: [RunResult], padMissing: Bool = false, style: TableStyle = .text,
                              poolVersions: Bool = false) -> String {
        let groups = summarize(results, padMissing: padMissing, poolVersions: poolVersions)
        let graded = results.filter(\.graded).count
        let md = style == .markdown
        func heading(_ s: String) -> String { md ? "### " + s : s }
        var out = [md ? "## Sweep \(sweep): \(graded)/\(results.count) runs graded" : "sweep \(sweep): \(graded)/\(results.count) runs graded", "",
                   heading("pass@k (any medal; unbiased estimator, mean over competitions)"), "",
                   renderPassAtK(groups, style: style), "", heading("budget comparison (per complete seed, then mean ± SEM over seeds)"), "",
                   renderComparison(groups, style: style)]
        if let note = ConfigVersionsNote.text(results, pooled: poolVersions) { out += ["", note] }
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

/// What the report says when a sweep holds results of several configuration versions.
public enum ConfigVersionsNote {
    public static func text(_ results: [RunResult], pooled: Bool) -> String? {
        let versions = Set(results.map(\.configVersion)).sorted()
        guard versions.count > 1 else { return nil }
        let list = versions.map { "v\($0)" }.joined(separator: ", ")
        return pooled
            ? "configuration versions \(list) pooled on request (--pool): these figures mix what the versions ran"
            : "configuration versions \(list) reported apart (each accepted change of agent, image, hardware or data is a version of its own); --pool pools them"
    }
}

extension Optional where Wrapped == [String] {
    var orEmpty: [String] { self ?? [] }
}
