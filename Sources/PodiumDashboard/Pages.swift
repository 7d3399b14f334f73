import Foundation
import PodiumCoordinator
import PodiumCore
import PodiumReport
import PodiumStore
import PodiumSystem

/// HTML-escapes text for element content and quoted attribute values. Every name, message and log byte that reaches a
/// page goes through this (an agent can print `<script>`), or is set by the page's script as text, never as markup.
public func htmlEscape(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for c in s.unicodeScalars {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.unicodeScalars.append(c)
        }
    }
    return out
}

/// A path segment of a link (run ids and sweep names are podium's own, but are encoded anyway).
func urlSegment(_ s: String) -> String {
    s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? ""
}

/// The dashboard's server-rendered pages: small, no build step, no CDN; one stylesheet and one script of its own.
enum Pages {
    static func layout(title: String, page: String, data: [String: String] = [:], _ body: String) -> String {
        let attrs = data.sorted { $0.key < $1.key }.map { " data-\($0.key)=\"\(htmlEscape($0.value))\"" }.joined()
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(htmlEscape(title))</title>
            <link rel="stylesheet" href="/static/dashboard.css"><script src="/static/dashboard.js" defer></script></head>
            <body data-page="\(page)"\(attrs)>
            <nav><b>podium</b> <a href="/">sweeps</a> <a href="/nodes">nodes</a> <a href="/report">report</a> <a href="/api/v1/sweeps">api</a> <a href="/metrics">metrics</a></nav>
            <main>
            \(body)
            </main></body></html>
            """
    }

    static func ago(_ t: Double?, now: Double = wallClockSeconds()) -> String {
        guard let t else { return "-" }
        let s = max(0, now - t)
        if s < 120 { return "\(Int(s)) s ago" }
        if s < 7200 { return "\(Int(s / 60)) min ago" }
        if s < 172_800 { return "\(fixed(s / 3600, 1)) h ago" }
        return "\(fixed(s / 86400, 1)) days ago"
    }

    static func time(_ t: Double?) -> String {
        guard let t else { return "-" }
        let d = Date(timeIntervalSince1970: t)
        return d.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: false).dateSeparator(.dash).timeSeparator(.colon))
    }

    static func hours(_ seconds: Double?) -> String { seconds.map { fixed($0 / 3600, 2) + " h" } ?? "-" }

    // MARK: sweep overview

    /// The runs' grid: one row per competition, a column per attempt within each (agent, budget, profile) group.
    struct Grid {
        var groups: [String]
        var attempts: [String: Int]
        var competitions: [String]
        /// (competition, group, attempt) → index of the run in `runs`.
        var cell: [String: Int]

        init(_ runs: [RunRecord]) {
            var groups = [String](), comps = [String](), attempts = [String: Int](), cell = [String: Int]()
            for (i, r) in runs.enumerated() {
                let g = Self.group(r)
                if attempts[g] == nil { groups.append(g) }
                attempts[g] = max(attempts[g] ?? 0, r.spec.attempt)
                if !comps.contains(r.spec.competition) { comps.append(r.spec.competition) }
                cell["\(r.spec.competition)|\(g)|\(r.spec.attempt)"] = i
            }
            self.groups = groups; self.attempts = attempts; self.competitions = comps; self.cell = cell
        }

        static func group(_ r: RunRecord) -> String { "\(r.spec.agent) · \(r.spec.budget) · \(r.spec.profile)" }
    }

    static func cellClass(_ v: SweepView, _ r: RunRecord) -> String {
        "c s-\(r.state.rawValue)" + (v.medal(r).map { " m-\($0)" } ?? "")
    }

    static func overview(_ v: SweepView, all: [SweepView]) -> String {
        let o = v.overview
        let done = (o.runs["completed"] ?? 0) + (o.runs["failed"] ?? 0) + (o.runs["cancelled"] ?? 0)
        var h = "<h1>sweep \(htmlEscape(v.name))</h1>\n"
        h += "<p><span id=\"coord\" class=\"badge \(o.coordinator_running ? "on" : "off")\">coordinator \(o.coordinator_running ? "running" : "not running")</span> "
        h += "<span id=\"live\" class=\"badge off\">connecting…</span></p>\n"
        h += "<progress id=\"progress\" max=\"\(max(1, o.runs_total))\" value=\"\(done)\"></progress>\n"
        h += "<p id=\"summary\">\(summaryLine(o))</p>\n"
        h += "<table class=\"counts\"><tr>" + RunState.allCases.map { "<th>\($0.rawValue)</th>" }.joined() + "</tr><tr>"
        h += RunState.allCases.map { "<td id=\"n-\($0.rawValue)\" class=\"s-\($0.rawValue)\">\(o.runs[$0.rawValue] ?? 0)</td>" }.joined() + "</tr></table>\n"
        // The grid.
        let grid = Grid(v.runs)
        h += "<h2>runs</h2>\n<div class=\"legend\">" + RunState.allCases.map { "<span class=\"c s-\($0.rawValue)\"></span>\($0.rawValue)" }.joined(separator: " ")
        h += " · completed: " + ["gold", "silver", "bronze", "median", "valid", "invalid"].map { "<span class=\"c s-completed m-\($0)\"></span>\($0 == "median" ? "above median" : $0 == "valid" ? "valid, no medal" : $0)" }.joined(separator: " ")
        h += "</div>\n<table class=\"grid\"><thead><tr><th></th>"
        for g in grid.groups { h += "<th colspan=\"\(grid.attempts[g]!)\">\(htmlEscape(g))</th>" }
        h += "</tr></thead><tbody>\n"
        for c in grid.competitions {
            h += "<tr><th>\(htmlEscape(c))</th>"
            for g in grid.groups {
                for a in 1...grid.attempts[g]! {
                    if let i = grid.cell["\(c)|\(g)|\(a)"] {
                        let r = v.runs[i]
                        h += "<td><a id=\"r\(i)\" class=\"\(cellClass(v, r))\" href=\"/runs/\(urlSegment(r.id))\" title=\"\(htmlEscape(r.id))\"></a></td>"
                    } else {
                        h += "<td></td>"
                    }
                }
            }
            h += "</tr>\n"
        }
        h += "</tbody></table>\n"
        h += "<h2>failures</h2>\n<table class=\"list\"><thead><tr><th>when</th><th>run</th><th>attempt</th><th>node</th><th>outcome</th><th>reason</th></tr></thead><tbody id=\"failures\">"
        h += failureRows(v) + "</tbody></table>\n"
        let others = all.filter { $0.name != v.name }
        if !others.isEmpty {
            h += "<h2>other sweeps in this state</h2><ul>" + others.map { "<li><a href=\"/sweeps/\(urlSegment($0.name))\">\(htmlEscape($0.name))</a> — \(htmlEscape(summaryLine($0.overview)))</li>" }.joined() + "</ul>\n"
        }
        h += "<p class=\"muted\"><a href=\"/report?sweep=\(urlSegment(v.name))\">report</a> · <a href=\"/api/v1/sweeps/\(urlSegment(v.name))\">JSON</a></p>"
        return layout(title: "podium · \(v.name)", page: "overview", data: ["sweep": v.name], h)
    }

    static func summaryLine(_ o: SweepOverview) -> String {
        let done = (o.runs["completed"] ?? 0) + (o.runs["failed"] ?? 0) + (o.runs["cancelled"] ?? 0)
        var s = "\(done) of \(o.runs_total) runs finished, \(o.eta.liveAttempts) live, \(o.attempts_total) attempts · GPU-hours \(fixed(o.gpu_hours_used, 2)) · CPU-hours \(fixed(o.cpu_hours_used, 2))"
        if o.eta.remainingRuns > 0 { s += " · ETA " + (o.eta.etaHours.map { "\(fixed($0, 1)) h" } ?? "unknown (nothing running)") }
        return s
    }

    struct FailureRow: Encodable {
        var at: String
        var run: String
        var epoch: Int
        var node: String
        var outcome: String
        var reason: String
    }

    static func failures(_ v: SweepView, limit: Int = 50) -> [FailureRow] {
        v.failures.prefix(limit).map {
            FailureRow(at: time($0.dispatchedAt), run: $0.runID, epoch: $0.epoch, node: $0.node, outcome: $0.outcome?.rawValue ?? "live",
                       reason: $0.message ?? "")
        }
    }

    static func failureRows(_ v: SweepView) -> String {
        let rows = failures(v)
        if rows.isEmpty { return "<tr><td colspan=\"6\" class=\"muted\">none</td></tr>" }
        return rows.map { f in
            "<tr><td>\(f.at)</td><td><a href=\"/runs/\(urlSegment(f.run))\">\(htmlEscape(f.run))</a></td><td>\(f.epoch)</td><td>\(htmlEscape(f.node))</td><td>\(htmlEscape(f.outcome))</td><td>\(htmlEscape(f.reason))</td></tr>"
        }.joined()
    }

    // MARK: nodes

    struct NodeRow: Encodable {
        var name: String
        var runtime: String
        var status: String
        var since: Double?
        var detail: String?
        var gpus_declared: Int
        var gpus_used: Int
        var gpu_models: [String]
        var cpus_declared: Double
        var cpus_used: Double
        var live_attempts: [String]
        var data_cache: DataCacheView?
        /// Sweeps sharing the node (issue 27): "alpha 2 attempts, 2 CPUs", as its daemon last said.
        var sweeps: [String] = []
    }

    static func nodeRows(_ sweeps: [SweepView], events: [String: StateStore.EventRecord]) -> [NodeRow] {
        var rows = [String: NodeRow](), order = [String]()
        let running = sweeps.contains { $0.overview.coordinator_running }
        for v in sweeps {
            let inventory = v.inventoryPath.flatMap { try? Inventory.load(path: $0) }
            for n in inventory?.nodes ?? [] where rows[n.name] == nil {
                order.append(n.name)
                rows[n.name] = NodeRow(name: n.name, runtime: n.runtime.rawValue, status: "unknown", gpus_declared: n.gpus, gpus_used: 0,
                                       gpu_models: n.gpuModel.map { [$0] } ?? [], cpus_declared: n.cpus, cpus_used: 0, live_attempts: [])
            }
            for r in v.runs where r.state.hasLiveAttempt {
                let name = r.node ?? "?"
                if rows[name] == nil {
                    order.append(name)
                    rows[name] = NodeRow(name: name, runtime: "?", status: "unknown", gpus_declared: 0, gpus_used: 0, gpu_models: [],
                                         cpus_declared: 0, cpus_used: 0, live_attempts: [])
                }
                rows[name]!.live_attempts.append(r.id)
                rows[name]!.gpus_used += v.profiles[r.spec.profile]?.gpus ?? 0
                rows[name]!.cpus_used += v.profiles[r.spec.profile]?.cpus ?? 0
            }
            for a in v.attempts { if let m = a.gpuModel, rows[a.node] != nil, !rows[a.node]!.gpu_models.contains(m) { rows[a.node]!.gpu_models.append(m) } }
            for c in v.overview.data_caches ?? [] where rows[c.node] != nil { rows[c.node]!.data_cache = c }
            for s in v.overview.node_shares where rows[s.node] != nil && rows[s.node]!.sweeps.isEmpty {
                rows[s.node]!.sweeps = s.sweeps.map { h in
                    "\(h.sweep): \(h.attempts) attempt\(h.attempts == 1 ? "" : "s"), " + (h.gpus > 0 ? "\(h.gpus) GPUs, " : "") + "\(fixed(h.cpus, 1)) CPUs"
                        + (h.waiting > 0 ? ", \(h.waiting) waiting" : "") + (h.connected ? "" : " (coordinator away)")
                }
            }
        }
        for name in order {
            guard let e = events[name] else {
                rows[name]!.status = running ? "not connected yet" : "unknown (no coordinator has reached it)"
                continue
            }
            let kind = e.kind == "node_up" ? "up" : e.kind == "node_down" ? "down" : "drained"
            rows[name]!.status = running ? kind : "\(kind) when the coordinator last ran"
            rows[name]!.since = e.at
            rows[name]!.detail = e.detail
        }
        return order.map { rows[$0]! }
    }

    static func nodes(_ rows: [NodeRow]) -> String {
        var h = "<h1>nodes</h1>\n<table class=\"list\"><thead><tr><th>node</th><th>runtime</th><th>status</th><th>since</th><th>GPUs used / free</th><th>GPU models</th><th>CPUs used</th><th>live attempts</th><th>data cache</th><th>sweeps sharing it</th></tr></thead><tbody id=\"nodes\">"
        for n in rows {
            let cache = n.data_cache.map { c in
                "held \(formatBytes(c.held_bytes)) (\(c.held.count)), staging \(formatBytes(c.staging_bytes)), free " + (c.free_bytes.map(formatBytes) ?? "unbounded")
            } ?? "-"
            h += "<tr><td>\(htmlEscape(n.name))</td><td>\(htmlEscape(n.runtime))</td><td class=\"st-\(n.status.hasPrefix("up") ? "up" : n.status.hasPrefix("down") ? "down" : "other")\">\(htmlEscape(n.status))</td>"
            h += "<td title=\"\(htmlEscape(n.detail ?? ""))\">\(htmlEscape(time(n.since))) (\(ago(n.since)))</td>"
            h += "<td>\(n.gpus_used) / \(max(0, n.gpus_declared - n.gpus_used))</td><td>\(htmlEscape(n.gpu_models.joined(separator: ", ").ifEmpty("-")))</td>"
            h += "<td>\(fixed(n.cpus_used, 1)) of \(fixed(n.cpus_declared, 1))</td>"
            h += "<td>" + n.live_attempts.map { "<a href=\"/runs/\(urlSegment($0))\">\(htmlEscape($0))</a>" }.joined(separator: "<br>").ifEmpty("-") + "</td>"
            h += "<td>\(htmlEscape(cache))</td><td>" + n.sweeps.map(htmlEscape).joined(separator: "<br>").ifEmpty("-") + "</td></tr>\n"
        }
        if rows.isEmpty { h += "<tr><td colspan=\"10\" class=\"muted\">no nodes in the sweeps' inventories</td></tr>" }
        h += "</tbody></table>"
        return layout(title: "podium · nodes", page: "nodes", h)
    }

    // MARK: one run

    static func run(_ d: DashboardState.RunDetail, tailBytes: Int) -> String {
        let r = d.run
        var h = "<h1>run \(htmlEscape(r.id))</h1>\n<table class=\"kv\">"
        for (k, val) in [("competition", r.spec.competition), ("agent", r.spec.agent), ("budget", r.spec.budget.description),
                         ("profile", r.spec.profile), ("attempt", String(r.spec.attempt)), ("sweep", r.spec.sweep),
                         ("node", r.node ?? d.attempts.last { $0.epoch == r.epoch }?.node ?? "-"), ("current epoch", String(r.epoch)), ("infra failures", String(r.infraFailures))] {
            h += "<tr><th>\(k)</th><td>\(htmlEscape(val))</td></tr>"
        }
        h += "<tr><th>state</th><td><span id=\"runstate\" class=\"badge s-\(r.state.rawValue)\">\(r.state.rawValue)</span></td></tr></table>\n"
        h += "<h2>attempts</h2>\n<table class=\"list\"><thead><tr><th>epoch</th><th>node</th><th>outcome</th><th>exit</th><th>dispatched</th><th>started</th><th>elapsed</th><th>log</th><th>GPU</th><th>image</th><th>message</th></tr></thead><tbody>"
        for a in d.attempts {
            h += "<tr><td><a href=\"/runs/\(urlSegment(r.id))?epoch=\(a.epoch)#log\">\(a.epoch)</a></td><td>\(htmlEscape(a.node))</td><td>\(htmlEscape(a.outcome?.rawValue ?? "live"))</td>"
            h += "<td>\(a.exitCode.map(String.init) ?? "-")</td><td>\(time(a.dispatchedAt))</td><td>\(time(a.startedAt))</td><td>\(hours(a.elapsedSeconds))</td>"
            h += "<td>\(formatBytes(a.logBytes))</td><td>\(htmlEscape(a.gpuModel ?? "-"))\(a.gpuIDs.isEmpty ? "" : " [" + htmlEscape(a.gpuIDs.joined(separator: ",")) + "]")</td>"
            h += "<td>\(htmlEscape(a.imageDigest.map { String($0.prefix(19)) } ?? "-"))</td><td>\(htmlEscape(a.message ?? ""))</td></tr>"
        }
        if d.attempts.isEmpty { h += "<tr><td colspan=\"11\" class=\"muted\">no attempt yet</td></tr>" }
        h += "</tbody></table>\n"
        // Snapshot scores over time (the current attempt's graded snapshots, then its final submission).
        let current = d.grades.filter { $0.epoch == r.epoch }
        let points = current.filter { !$0.isFinal }.compactMap { g in g.elapsedSeconds.map { ($0, g) } }.sorted { $0.0 < $1.0 }
        h += "<h2>scores over time</h2>\n"
        if points.isEmpty && current.isEmpty {
            h += "<p class=\"muted\">no graded snapshot yet</p>"
        } else {
            h += sparkline(points.compactMap { p in p.1.score.map { (p.0, $0) } })
            h += "<table class=\"list\"><thead><tr><th>artifact</th><th>at</th><th>score</th><th>medal</th><th>grader time</th></tr></thead><tbody>"
            for g in current.sorted(by: { ($0.isFinal ? 1 : 0, $0.elapsedSeconds ?? 0) < ($1.isFinal ? 1 : 0, $1.elapsedSeconds ?? 0) }) {
                let medal = g.gold ? "gold" : g.silver ? "silver" : g.bronze ? "bronze" : g.aboveMedian ? "above median" : g.valid ? "no medal" : "invalid"
                h += "<tr><td>\(htmlEscape(g.artifact))</td><td>\(hours(g.elapsedSeconds))</td><td>\(g.score.map { String($0) } ?? "-")</td><td>\(medal)</td><td>\(g.gradingSeconds.map { fixed($0, 3) + " s" } ?? "-")</td></tr>"
            }
            h += "</tbody></table>"
        }
        if let final = current.first(where: \.isFinal) {
            h += "<h2>grading report</h2>\n<pre class=\"report\">\(htmlEscape(prettyJSON(final.reportJSON)))</pre>\n"
        }
        // The log: the page's script loads the tail and follows it; older bytes page in on demand.
        let epoch = d.attempts.last?.epoch ?? r.epoch
        h += "<h2 id=\"log\">agent log</h2>\n"
        if d.attempts.isEmpty {
            h += "<p class=\"muted\">no attempt yet</p>"
        } else {
            h += "<p><button id=\"older\" type=\"button\">older</button> <label><input id=\"follow\" type=\"checkbox\" checked> follow</label> <span id=\"logpos\" class=\"muted\"></span></p>"
            h += "<pre id=\"logtext\" class=\"log\"></pre>"
        }
        h += "\n<h2>events</h2>\n<table class=\"list\"><tbody>"
        for e in d.events.suffix(200) {
            h += "<tr><td>\(time(e.at))</td><td>\(e.epoch.map { "e\($0)" } ?? "")</td><td>\(htmlEscape(e.kind))</td><td>\(htmlEscape([e.from, e.to].compactMap { $0 }.joined(separator: " → ")))</td><td>\(htmlEscape(e.detail ?? ""))</td></tr>"
        }
        h += "</tbody></table>"
        return layout(title: "podium · \(r.id)", page: "run", data: ["run": r.id, "epoch": String(epoch), "tail": String(tailBytes)], h)
    }

    static func prettyJSON(_ s: String) -> String {
        guard let o = try? JSONSerialization.jsonObject(with: Data(s.utf8)),
              let d = try? JSONSerialization.data(withJSONObject: o, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]) else { return s }
        return String(decoding: d, as: UTF8.self)
    }

    /// Score against hours, as a small inline SVG.
    static func sparkline(_ p: [(Double, Double)]) -> String {
        guard p.count >= 2, let lo = p.map(\.1).min(), let hi = p.map(\.1).max(), let t1 = p.last?.0 else { return "" }
        let w = 480.0, h = 80.0, span = hi - lo == 0 ? 1 : hi - lo
        let pts = p.map { "\(fixed(8 + ($0.0 / max(t1, 1e-9)) * (w - 16), 1)),\(fixed(h - 8 - ($0.1 - lo) / span * (h - 16), 1))" }.joined(separator: " ")
        return "<svg class=\"spark\" width=\"\(Int(w))\" height=\"\(Int(h))\" viewBox=\"0 0 \(Int(w)) \(Int(h))\" role=\"img\"><polyline fill=\"none\" stroke=\"#2b6cb0\" stroke-width=\"2\" points=\"\(pts)\"/><text x=\"8\" y=\"12\" font-size=\"10\">\(htmlEscape(String(hi)))</text><text x=\"8\" y=\"\(Int(h) - 2)\" font-size=\"10\">\(htmlEscape(String(lo)))</text></svg>"
    }

    static func message(_ title: String, _ text: String) -> String {
        layout(title: "podium · \(title)", page: "message", "<h1>\(htmlEscape(title))</h1><p>\(htmlEscape(text))</p>")
    }
}
