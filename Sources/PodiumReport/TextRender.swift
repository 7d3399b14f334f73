/// How tables are drawn: aligned text for the terminal, or GitHub-flavoured Markdown for papers and READMEs.
public enum TableStyle: Sendable {
    case text, markdown

    public func render(header: [String], rows: [[String]]) -> String {
        switch self {
        case .text: return TextTable.render(header: header, rows: rows)
        case .markdown:
            func line(_ cells: [String]) -> String { "| " + cells.map { $0.replacingPipes }.joined(separator: " | ") + " |" }
            return ([line(header), "|" + header.indices.map { $0 == 0 ? "---|" : "---:|" }.joined()] + rows.map(line)).joined(separator: "\n")
        }
    }
}

extension String {
    var replacingPipes: String { split(separator: "|", omittingEmptySubsequences: false).joined(separator: "\\|") }
}

/// Plain-text tables for the terminal.
public enum TextTable {
    public static func render(header: [String], rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in
                i == 0 ? c + String(repeating: " ", count: widths[i] - c.count)
                       : String(repeating: " ", count: widths[i] - c.count) + c
            }.joined(separator: "  ")
        }
        var out = [line(header), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
        out += rows.map(line)
        return out.joined(separator: "\n")
    }
}

public func fixed(_ x: Double, _ digits: Int = 1) -> String {
    guard x.isFinite else { return String(x) }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let r = (abs(x) * scale).rounded() / scale
    let whole = Int(r)
    var frac = String(Int(((r - Double(whole)) * scale).rounded()))
    while frac.count < digits { frac = "0" + frac }
    let sign = x < 0 && r > 0 ? "-" : ""
    return digits == 0 ? "\(sign)\(whole)" : "\(sign)\(whole).\(frac)"
}

extension GroupSummary {
    var label: String { (configVersion.map { "config v\($0) · " } ?? "") + (profile == "default" ? budget : "\(budget)/\(profile)") }
}

/// The pass@k table: one row per (budget, profile) group.
public func renderPassAtK(_ groups: [GroupSummary], style: TableStyle = .text) -> String {
    let maxK = groups.flatMap { $0.passAtK.keys.compactMap(Int.init) }.max() ?? 0
    let header = ["budget/profile", "competitions", "graded"] + (maxK > 0 ? (1...maxK).map { "pass@\($0)" } : [])
    let rows = groups.map { g in
        [g.label, String(g.numCompetitions), "\(g.runsGraded)/\(g.runsTotal)"]
            + (maxK > 0 ? (1...maxK).map { k in g.passAtK[String(k)].map { fixed($0) + "%" } ?? "-" } : [])
    }
    return style.render(header: header, rows: rows)
}

/// Budgets side by side: each metric as mean ± SEM over complete seeds.
public func renderComparison(_ groups: [GroupSummary], style: TableStyle = .text) -> String {
    func cell(_ m: MeanSEM) -> String { "\(fixed(m.mean))% ± \(fixed(m.standardError))" }
    let metrics: [(String, (GroupSummary) -> String)] = [
        ("any medal", { cell($0.anyMedalPercentage) }),
        ("gold", { cell($0.goldMedalPercentage) }),
        ("silver", { cell($0.silverMedalPercentage) }),
        ("bronze", { cell($0.bronzeMedalPercentage) }),
        ("above median", { cell($0.aboveMedianPercentage) }),
        ("valid submission", { cell($0.validSubmissionsPercentage) }),
        ("made submission", { cell($0.submissionExistsPercentage) }),
        ("complete seeds", { String($0.numSeeds) }),
        ("infra-failed runs", { String($0.runsInfraFailed) }),
    ]
    let header = ["metric (mean ± SEM over seeds)"] + groups.map(\.label)
    return style.render(header: header, rows: metrics.map { name, f in [name] + groups.map(f) })
}
