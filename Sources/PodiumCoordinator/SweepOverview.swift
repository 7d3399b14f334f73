#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodiumCore
import PodiumReport
import PodiumStore
import PodiumSystem
#if canImport(Glibc)
import Glibc
#endif

/// One sweep's state at a glance: what `podium status --format json` prints and what the dashboard's
/// `/api/v1/sweeps` serves, computed by this one function so the two always agree.
public struct SweepOverview: Encodable, Sendable {
    public var sweep: String
    public var state_file: String
    public var runs: [String: Int]
    public var runs_total: Int
    public var attempts_total: Int
    public var attempts_by_outcome: [String: Int]
    public var graded: Int
    /// Live attempts per node.
    public var nodes: [String: Int]
    /// Resources spent by attempts that have ended (elapsed × the profile's GPUs / CPUs), in hours.
    public var gpu_hours_used: Double
    public var cpu_hours_used: Double
    /// Whether a coordinator (`podium sweep`) holds this state now.
    public var coordinator_running: Bool
    public var eta: SweepETA
    /// Each node's data cache (lazy data): what it holds, stages and has free.
    public var data_caches: [DataCacheView]?
    /// Attempts by the backend of the node they ran on (docker, process, slurm), per the sweep's inventory.
    public var attempts_by_backend: [String: Int]?
    /// Each node up or down, since when and why, by the coordinator's last word on it (the inventory's nodes, and any
    /// other node the state has heard of).
    public var node_states: [NodeStateView] = []
    /// Nodes this sweep shares with other sweeps: what each holds there (issue 27).
    public var node_shares: [NodeShareView] = []
    /// "waiting: 6 runs; node gpu03 busy with 2 other sweeps (…)" when its runs wait on capacity others hold.
    public var waiting_on_others: String?

    /// Whether every run has reached a terminal state.
    public var finished: Bool { runs_total > 0 && RunState.allCases.filter { !$0.isTerminal }.allSatisfy { (runs[$0.rawValue] ?? 0) == 0 } }

    /// Reads the sweep's runs, attempts and accounting; `inventoryPath` adds data caches and backends.
    public static func read(store: StateStore, sweep name: String, statePath path: String, inventoryPath: String?,
                            runs given: [RunRecord]? = nil, attempts givenAttempts: [AttemptRecord]? = nil,
                            now: Double = wallClockSeconds()) throws -> SweepOverview {
        let runs = try given ?? store.runs(sweep: name)
        let attempts = try givenAttempts ?? store.attempts(sweep: name)
        var byState = Dictionary(uniqueKeysWithValues: RunState.allCases.map { ($0.rawValue, 0) })
        for r in runs { byState[r.state.rawValue, default: 0] += 1 }
        var byOutcome = [String: Int]()
        for a in attempts { byOutcome[a.outcome?.rawValue ?? "live", default: 0] += 1 }
        var nodes = [String: Int]()
        for r in runs where r.state.hasLiveAttempt { nodes[r.node ?? "?", default: 0] += 1 }
        let accounting = try SweepResults.accounting(store: store, sweep: name, runs: runs, attempts: attempts)
        var out = SweepOverview(sweep: name, state_file: path, runs: byState, runs_total: runs.count, attempts_total: attempts.count,
                                attempts_by_outcome: byOutcome, graded: byState["completed"] ?? 0, nodes: nodes,
                                gpu_hours_used: accounting.gpuHoursUsed, cpu_hours_used: accounting.cpuHoursUsed,
                                coordinator_running: CoordinatorLock.isHeld(statePath: path),
                                eta: SweepETA(runs: runs, attempts: attempts, now: now))
        let inventory = inventoryPath.flatMap { try? Inventory.load(path: $0) }
        out.node_states = NodeStateView.all(try store.lastNodeEvents(), inventory: inventory?.nodes.map(\.name) ?? [], live: nodes,
                                            coordinatorRunning: out.coordinator_running)
        out.data_caches = try DataCacheView.all(store: store, inventory: inventory)
        out.node_shares = try NodeShareView.all(store: store, sweep: name).filter(\.shared)
        out.waiting_on_others = NodeShareView.waitingNote(pending: byState["pending"] ?? 0, out.node_shares)
        if let inventory {
            let runtime = Dictionary(inventory.nodes.map { ($0.name, $0.runtime.rawValue) }, uniquingKeysWith: { a, _ in a })
            var by = [String: Int]()
            for a in attempts { by[runtime[a.node] ?? "unknown", default: 0] += 1 }
            out.attempts_by_backend = by
        }
        return out
    }
}

/// One node's data cache as the state records it (issue 18).
public struct DataCacheView: Encodable, Sendable {
    public var node: String
    public var held_bytes: Int64
    public var held: [String]
    public var staging_bytes: Int64
    public var staging: [String]
    public var max_bytes: Int64?
    public var free_bytes: Int64?

    /// Every node of the inventory with a data cache, and every node the state records data on.
    public static func all(store: StateStore, inventoryPath: String?) throws -> [DataCacheView] {
        try all(store: store, inventory: inventoryPath.flatMap { try? Inventory.load(path: $0) })
    }

    public static func all(store: StateStore, inventory: Inventory?) throws -> [DataCacheView] {
        let rows = try store.nodeData()
        var names = (inventory?.nodes.filter { $0.dataCache != nil }.map(\.name) ?? [])
        for r in rows where !names.contains(r.node) { names.append(r.node) }
        return names.map { name in
            let mine = rows.filter { $0.node == name }
            let ready = mine.filter { $0.state == "ready" }, other = mine.filter { $0.state != "ready" }
            let held = ready.reduce(Int64(0)) { $0 + $1.bytes }, staging = other.reduce(Int64(0)) { $0 + $1.bytes }
            let budget = inventory?.nodes.first { $0.name == name }?.dataCache?.maxBytes
            return DataCacheView(node: name, held_bytes: held, held: ready.map(\.competition), staging_bytes: staging,
                                 staging: other.map { $0.state == "staging" ? $0.competition : "\($0.competition) (\($0.state))" },
                                 max_bytes: budget, free_bytes: budget.map { max(0, $0 - held - staging) })
        }
    }

    public static func table(_ caches: [DataCacheView]) -> String {
        TextTable.render(header: ["data cache", "held", "staging", "free", "competitions held"], rows: caches.map { c in
            var free = "unbounded"
            if let f = c.free_bytes, let m = c.max_bytes { free = "\(formatBytes(f)) of \(formatBytes(m))" }
            return [c.node, "\(formatBytes(c.held_bytes)) (\(c.held.count))",
                    c.staging.isEmpty ? "-" : "\(formatBytes(c.staging_bytes)) (\(c.staging.joined(separator: ", ")))", free,
                    c.held.isEmpty ? "-" : c.held.prefix(6).joined(separator: ", ") + (c.held.count > 6 ? " …" : "")]
        })
    }
}

/// One node as the coordinator last saw it.
public struct NodeStateView: Encodable, Sendable, Equatable {
    public var node: String
    /// The coordinator's last word on the node was that it is up (and, while none runs, that word is all there is).
    public var up: Bool
    /// When that word was said (Unix seconds); nil for a node not contacted yet.
    public var since: Double?
    /// Why it is down or drained (the connection error, the disk-full drain…); nil while up.
    public var reason: String?
    public var live_attempts: Int

    enum CodingKeys: String, CodingKey { case node, up, since, reason, live_attempts }

    /// Every field written, nulls included: a script reads `reason` without asking whether it exists.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(node, forKey: .node); try c.encode(up, forKey: .up); try c.encode(since, forKey: .since)
        try c.encode(reason, forKey: .reason); try c.encode(live_attempts, forKey: .live_attempts)
    }

    static func all(_ events: [String: StateStore.EventRecord], inventory: [String], live: [String: Int], coordinatorRunning: Bool) -> [NodeStateView] {
        var names = inventory
        for n in events.keys.sorted() where !names.contains(n) { names.append(n) }
        return names.map { n in
            guard let e = events[n] else {
                return NodeStateView(node: n, up: false, since: nil, reason: "not contacted yet", live_attempts: live[n] ?? 0)
            }
            let detail = e.detail.map { d in d.hasPrefix(n + ": ") ? String(d.dropFirst(n.count + 2)) : d }
            let up = e.kind == "node_up"
            return NodeStateView(node: n, up: up, since: e.at, reason: up ? nil : (e.kind == "node_drained" ? "drained: " : "") + (detail ?? "unknown"),
                                 live_attempts: live[n] ?? 0)
        }
    }

    /// "gpu01 up since 12:04:11 (2 live attempts)", "gpu02 down since … : reason".
    public var line: String {
        let when = since.map { "since \(formatUTC($0))" } ?? ""
        return "node \(node): \(up ? "up" : "down") \(when)" + (live_attempts > 0 ? " (\(live_attempts) live attempts)" : "")
            + (reason.map { " — \($0)" } ?? "")
    }
}

/// Unix seconds as "2026-12-07 17:30:05 UTC".
public func formatUTC(_ t: Double) -> String {
    var secs = time_t(t)
    var parts = Glibc.tm()
    gmtime_r(&secs, &parts)
    let tm = parts
    func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
    return "\(tm.tm_year + 1900)-\(two(tm.tm_mon + 1))-\(two(tm.tm_mday)) \(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec)) UTC"
}
