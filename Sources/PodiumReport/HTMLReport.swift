import PodiumCore

/// One self-contained HTML file (inline CSS and SVG, no scripts, no network): the tables and plots of a sweep or of a
/// directory of MLE-bench grading reports.
public struct HTMLReport: Sendable {
    public var title: String
    public var subtitle: String
    public var groups: [GroupSummary]
    public var results: [RunResult]
    public var comparisons: [PairedComparison]
    public var curves: [TimeCurve]
    /// Label → value rows of the honest-accounting table.
    public var accounting: [(String, String)]
    public var notes: [String]

    public init(title: String, subtitle: String, groups: [GroupSummary], results: [RunResult], comparisons: [PairedComparison] = [],
                curves: [TimeCurve] = [], accounting: [(String, String)] = [], notes: [String] = []) {
        self.title = title; self.subtitle = subtitle; self.groups = groups; self.results = results
        self.comparisons = comparisons; self.curves = curves; self.accounting = accounting; self.notes = notes
    }

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]

    public func render() -> String {
        var body = [String]()
        body.append("<h1>\(esc(title))</h1><p class=\"sub\">\(esc(subtitle))</p>")
        body.append(section("Medal rates per seed (mean ± SEM, 95% CI)", summaryTable()))
        body.append(section("pass@k (any medal; unbiased estimator, mean over competitions)", passAtKChart() + passAtKTable()))
        if !comparisons.isEmpty { body.append(section("Paired comparisons (B − A, per competition, bootstrap 95% CI)", comparisonTable())) }
        if !curves.isEmpty {
            body.append(section("Any-medal rate against elapsed time (from graded snapshots)",
                                timeChart() + "<p class=\"note\">\(esc(TimeCurve.caveat))</p>"))
        }
        body.append(section("Competition × attempt", heatMap()))
        if !accounting.isEmpty {
            body.append(section("Accounting", table(header: ["item", "value"], rows: accounting.map { [$0.0, $0.1] })))
        }
        if !notes.isEmpty { body.append(section("Notes", "<ul>" + notes.map { "<li>\(esc($0))</li>" }.joined() + "</ul>")) }
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(esc(title))</title>
        <style>
        body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
        h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:.2em}
        .sub{color:#555;margin-top:0}.note{color:#555;font-size:.9em}
        table{border-collapse:collapse;margin:.5em 0;font-size:.92em}td,th{border:1px solid #ddd;padding:4px 8px;text-align:right}
        td:first-child,th:first-child{text-align:left}th{background:#f4f4f4}
        svg{display:block;margin:.5em 0}svg text{font-family:inherit}
        </style></head><body>
        \(body.joined(separator: "\n"))
        </body></html>

        """
    }

    // MARK: tables

    func summaryTable() -> String {
        func cell(_ m: MeanSEM) -> String { "\(fixed(m.mean))% ± \(fixed(m.standardError)) <span class=\"note\">[\(fixed(m.ciLower)), \(fixed(m.ciUpper))]</span>" }
        let metrics: [(String, (GroupSummary) -> String)] = [
            ("any medal", { cell($0.anyMedalPercentage) }), ("gold", { cell($0.goldMedalPercentage) }),
            ("silver", { cell($0.silverMedalPercentage) }), ("bronze", { cell($0.bronzeMedalPercentage) }),
            ("above median", { cell($0.aboveMedianPercentage) }), ("valid submission", { cell($0.validSubmissionsPercentage) }),
            ("made submission", { cell($0.submissionExistsPercentage) }), ("complete seeds", { String($0.numSeeds) }),
            ("competitions", { String($0.numCompetitions) }), ("graded / runs", { "\($0.runsGraded) / \($0.runsTotal)" }),
            ("infra-failed runs (not counted as agent failures)", { String($0.runsInfraFailed) }),
        ]
        return table(header: ["metric"] + groups.map(\.label), rows: metrics.map { n, f in [n] + groups.map(f) }, raw: true)
    }

    func passAtKTable() -> String {
        let maxK = groups.flatMap { $0.passAtK.keys.compactMap(Int.init) }.max() ?? 0
        guard maxK > 0 else { return "<p class=\"note\">No graded attempts yet.</p>" }
        return table(header: ["group"] + (1...maxK).map { "pass@\($0)" },
                     rows: groups.map { g in [g.label] + (1...maxK).map { g.passAtK[String($0)].map { fixed($0) + "%" } ?? "–" } })
    }

    func comparisonTable() -> String {
        table(header: ["axis", "A", "B", "held fixed", "competitions", "B − A (pp)", "95% CI", "B better / A better / ties"],
              rows: comparisons.map { c in
                  [c.axis.rawValue, c.a, c.b, c.fixed, String(c.numCompetitions), fixed(c.meanDifference),
                   "[\(fixed(c.ciLower)), \(fixed(c.ciUpper))]", "\(c.bBetter) / \(c.aBetter) / \(c.ties)"]
              })
    }

    func table(header: [String], rows: [[String]], raw: Bool = false) -> String {
        let head = "<tr>" + header.map { "<th>\(esc($0))</th>" }.joined() + "</tr>"
        let body = rows.map { r in "<tr>" + r.enumerated().map { i, c in "<td>\(raw && i > 0 ? c : esc(c))</td>" }.joined() + "</tr>" }.joined()
        return "<table>\(head)\(body)</table>"
    }

    func section(_ heading: String, _ content: String) -> String { "<h2>\(esc(heading))</h2>\n\(content)" }

    // MARK: charts

    /// A line chart: x from 0 (or xMin) to xMax, y 0–100 %, one series per entry.
    func lineChart(series: [(label: String, points: [(Double, Double)])], xLabel: String, xMin: Double, xMax: Double,
                   xTicks: [Double], step: Bool) -> String {
        let w = 720.0, h = 340.0, left = 56.0, right = 180.0, top = 16.0, bottom = 44.0
        let pw = w - left - right, ph = h - top - bottom
        func x(_ v: Double) -> Double { left + (xMax > xMin ? (v - xMin) / (xMax - xMin) : 0) * pw }
        func y(_ v: Double) -> Double { top + ph - max(0, min(100, v)) / 100 * ph }
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" viewBox=\"0 0 \(Int(w)) \(Int(h))\" role=\"img\">"
        s += "<rect x=\"0\" y=\"0\" width=\"\(Int(w))\" height=\"\(Int(h))\" fill=\"#ffffff\"/>"
        for t in stride(from: 0.0, through: 100.0, by: 20.0) {
            s += "<line x1=\"\(f(left))\" y1=\"\(f(y(t)))\" x2=\"\(f(left + pw))\" y2=\"\(f(y(t)))\" stroke=\"#e5e5e5\"/>"
            s += "<text x=\"\(f(left - 6))\" y=\"\(f(y(t) + 4))\" font-size=\"11\" text-anchor=\"end\" fill=\"#444\">\(Int(t))%</text>"
        }
        for t in xTicks {
            s += "<line x1=\"\(f(x(t)))\" y1=\"\(f(top + ph))\" x2=\"\(f(x(t)))\" y2=\"\(f(top + ph + 4))\" stroke=\"#444\"/>"
            s += "<text x=\"\(f(x(t)))\" y=\"\(f(top + ph + 17))\" font-size=\"11\" text-anchor=\"middle\" fill=\"#444\">\(esc(tickLabel(t)))</text>"
        }
        s += "<line x1=\"\(f(left))\" y1=\"\(f(top + ph))\" x2=\"\(f(left + pw))\" y2=\"\(f(top + ph))\" stroke=\"#444\"/>"
        s += "<line x1=\"\(f(left))\" y1=\"\(f(top))\" x2=\"\(f(left))\" y2=\"\(f(top + ph))\" stroke=\"#444\"/>"
        s += "<text x=\"\(f(left + pw / 2))\" y=\"\(f(h - 8))\" font-size=\"12\" text-anchor=\"middle\" fill=\"#222\">\(esc(xLabel))</text>"
        for (i, serie) in series.enumerated() {
            let color = Self.palette[i % Self.palette.count]
            var pts = [(Double, Double)]()
            for (k, p) in serie.points.enumerated() {
                if step, k > 0 { pts.append((p.0, serie.points[k - 1].1)) }
                pts.append(p)
            }
            let path = pts.map { "\(f(x($0.0))),\(f(y($0.1)))" }.joined(separator: " ")
            s += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2.5\" points=\"\(path)\"/>"
            if !step { for p in serie.points { s += "<circle cx=\"\(f(x(p.0)))\" cy=\"\(f(y(p.1)))\" r=\"3.5\" fill=\"\(color)\"/>" } }
            let ly = top + 14 + Double(i) * 20
            s += "<rect x=\"\(f(left + pw + 16))\" y=\"\(f(ly - 9))\" width=\"14\" height=\"10\" fill=\"\(color)\"/>"
            s += "<text x=\"\(f(left + pw + 36))\" y=\"\(f(ly))\" font-size=\"12\" fill=\"#222\">\(esc(serie.label))</text>"
        }
        return s + "</svg>"
    }

    func passAtKChart() -> String {
        let maxK = groups.flatMap { $0.passAtK.keys.compactMap(Int.init) }.max() ?? 0
        guard maxK > 0 else { return "" }
        let series = groups.map { g in
            (label: g.label, points: g.passAtK.compactMap { k, v in Int(k).map { (Double($0), v) } }.sorted { $0.0 < $1.0 })
        }
        return lineChart(series: series, xLabel: "k (attempts)", xMin: maxK > 1 ? 1 : 0, xMax: Double(maxK),
                         xTicks: (1...maxK).map(Double.init), step: false)
    }

    func timeChart() -> String {
        let maxH = curves.map(\.budgetHours).max() ?? 1
        // Short demo budgets read better in minutes or seconds.
        let (scale, unit): (Double, String) = maxH >= 2 ? (1, "hours") : maxH >= 2.0 / 60 ? (60, "minutes") : (3600, "seconds")
        let series = curves.map { c in
            (label: [c.budget, c.profile == "default" ? nil : c.profile, c.agent.isEmpty ? nil : c.agent].compactMap { $0 }.joined(separator: "/"),
             points: c.points.map { ($0.hours * scale, $0.anyMedalPercentage) })
        }
        let ticks = (0...5).map { maxH * scale * Double($0) / 5 }
        return lineChart(series: series, xLabel: "elapsed \(unit)", xMin: 0, xMax: maxH * scale, xTicks: ticks, step: true)
    }

    enum Cell: String, CaseIterable {
        case gold, silver, bronze, aboveMedian = "above median", valid = "valid, below median", invalid = "invalid submission"
        case none = "no submission", infra = "infra failure", pending = "not finished"
        var color: String {
            switch self {
            case .gold: return "#d4af37"
            case .silver: return "#a7a9ac"
            case .bronze: return "#cd7f32"
            case .aboveMedian: return "#7fb3d5"
            case .valid: return "#d6eaf8"
            case .invalid: return "#f1948a"
            case .none: return "#eeeeee"
            case .infra: return "#7b241c"
            case .pending: return "#ffffff"
            }
        }
        static func of(_ r: RunResult) -> Cell {
            if r.infraFailed { return .infra }
            guard r.graded else { return .pending }
            if r.gold { return .gold }
            if r.silver { return .silver }
            if r.bronze { return .bronze }
            if r.aboveMedian { return .aboveMedian }
            if r.validSubmission { return .valid }
            return r.submissionExists ? .invalid : .none
        }
    }

    func heatMap() -> String {
        let competitions = Array(Set(results.map(\.competition))).sorted()
        guard !competitions.isEmpty else { return "<p class=\"note\">No runs.</p>" }
        let groupKeys = Array(Set(results.map { GroupKey($0) })).sorted()
        let attempts = Dictionary(grouping: results, by: { GroupKey($0) }).mapValues { Array(Set($0.map(\.attempt))).sorted() }
        let byCell = Dictionary(results.map { ("\(GroupKey($0).label)#\($0.competition)#\($0.attempt)", $0) }, uniquingKeysWith: { a, _ in a })
        let size = 14.0, labelW = Double(min(340, 7 * (competitions.map(\.count).max() ?? 10) + 10)), top = 40.0, gap = 12.0
        var x = labelW
        var s = ""
        var headers = ""
        for g in groupKeys {
            let n = Double(attempts[g]!.count)
            headers += "<text x=\"\(f(x))\" y=\"14\" font-size=\"11\" fill=\"#222\">\(esc(g.label))</text>"
            for (j, a) in attempts[g]!.enumerated() {
                let cx = x + Double(j) * size
                if attempts[g]!.count <= 20 || j % 5 == 0 {
                    headers += "<text x=\"\(f(cx + size / 2))\" y=\"32\" font-size=\"9\" text-anchor=\"middle\" fill=\"#666\">\(a)</text>"
                }
                for (i, c) in competitions.enumerated() {
                    let y = top + Double(i) * size
                    let cell = byCell["\(g.label)#\(c)#\(a)"].map(Cell.of) ?? .pending
                    s += "<rect x=\"\(f(cx))\" y=\"\(f(y))\" width=\"\(f(size - 1))\" height=\"\(f(size - 1))\" fill=\"\(cell.color)\" stroke=\"#ccc\" stroke-width=\"0.5\"><title>\(esc(c)) · \(esc(g.label)) · attempt \(a): \(cell.rawValue)</title></rect>"
                }
            }
            x += max(n * size, 6.5 * Double(g.label.count)) + gap
        }
        var labels = ""
        for (i, c) in competitions.enumerated() {
            labels += "<text x=\"\(f(labelW - 6))\" y=\"\(f(top + Double(i) * size + size - 4))\" font-size=\"10\" text-anchor=\"end\" fill=\"#222\">\(esc(c))</text>"
        }
        let height = top + Double(competitions.count) * size + 10
        var legend = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Cell.allCases.count * 130)\" height=\"22\">"
        for (i, c) in Cell.allCases.enumerated() {
            legend += "<rect x=\"\(i * 130)\" y=\"5\" width=\"12\" height=\"12\" fill=\"\(c.color)\" stroke=\"#999\"/><text x=\"\(i * 130 + 16)\" y=\"15\" font-size=\"11\">\(esc(c.rawValue))</text>"
        }
        legend += "</svg>"
        return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(x + 10))\" height=\"\(Int(height))\"><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>"
            + headers + labels + s + "</svg>" + legend
    }

    struct GroupKey: Hashable, Comparable {
        var budgetSeconds: Int, budget: String, profile: String, agent: String
        init(_ r: RunResult) { budgetSeconds = r.budget.seconds; budget = r.budget.description; profile = r.profile; agent = r.agent }
        var label: String { [budget == "0s" ? nil : budget, profile == "default" || profile == "-" ? nil : profile, agent.isEmpty ? nil : agent]
            .compactMap { $0 }.joined(separator: "/").ifEmpty("seeds") }
        static func < (a: GroupKey, b: GroupKey) -> Bool { (a.budgetSeconds, a.profile, a.agent) < (b.budgetSeconds, b.profile, b.agent) }
    }

    func f(_ v: Double) -> String { fixed(v, 1) }

    func tickLabel(_ v: Double) -> String { v == v.rounded() ? String(Int(v)) : fixed(v, 1) }
}

/// Escapes text for HTML and SVG.
func esc(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.count)
    for c in s {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        default: out.append(c)
        }
    }
    return out
}
