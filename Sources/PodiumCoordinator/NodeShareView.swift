#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodiumCore
import PodiumProtocol
import PodiumStore
import PodiumReport

/// What a shared node held per sweep when its daemon last told this sweep's coordinator (issue 27): `podium status`,
/// `podium nodes` and the dashboard's nodes page.
public struct NodeShareView: Encodable, Sendable, Equatable {
    public struct Holder: Encodable, Sendable, Equatable {
        public var sweep: String
        public var id: String
        public var this_sweep: Bool
        public var connected: Bool
        public var attempts: Int
        public var gpus: Int
        public var cpus: Double
        public var memory_bytes: Int64
        public var waiting: Int
        public var share: Double
        /// Unix seconds of its coordinator's last connect or disconnect there.
        public var last_seen: Double
    }

    public var node: String
    /// When this sweep's coordinator last heard it (Unix seconds).
    public var updated_at: Double
    public var capacity_gpus: Int
    public var capacity_cpus: Double
    public var free_gpus: Int
    public var free_cpus: Double
    /// What a start of this sweep would get there now (fair share may hold the free room for another sweep).
    public var available_cpus: Double
    public var available_gpus: Int
    public var sweeps: [Holder]

    /// Sweeps other than this one that hold attempts there.
    public var othersHolding: [Holder] { sweeps.filter { !$0.this_sweep && $0.attempts > 0 } }

    public static func all(store: StateStore, sweep: String) throws -> [NodeShareView] {
        let me = try SweepRunner.tenantID(sweep: sweep, store: store)
        return try store.nodeLoads(sweep: sweep).compactMap { row in
            guard let l = try? JSONDecoder().decode(NodeLoad.self, from: Data(row.json.utf8)) else { return nil }
            return NodeShareView(node: row.node, updated_at: row.updatedAt, capacity_gpus: l.capacity.gpus, capacity_cpus: l.capacity.cpus,
                                 free_gpus: l.free.gpus, free_cpus: l.free.cpus, available_cpus: l.available.cpus,
                                 available_gpus: l.available.gpus, sweeps: l.tenants.map { t in
                Holder(sweep: t.sweep, id: t.id, this_sweep: t.id == me, connected: t.connected, attempts: t.attempts, gpus: t.held.gpus,
                       cpus: t.held.cpus, memory_bytes: t.held.memoryBytes, waiting: t.waiting, share: t.share, last_seen: t.lastSeen)
            })
        }
    }

    /// Only nodes another sweep uses too are worth a line.
    public var shared: Bool { sweeps.contains { !$0.this_sweep } }

    /// "node gpu03 (shared, as of 12:00:01 UTC): alpha (this sweep) 2 attempts, 2 GPUs · beta 2 attempts, 2 GPUs, 6 waiting,
    /// share 2; free 0 of 4 GPUs, 8 of 64 CPUs".
    public var line: String {
        let holders = sweeps.map { h in
            var s = "\(h.sweep)\(h.this_sweep ? " (this sweep)" : "") \(h.attempts) attempt\(h.attempts == 1 ? "" : "s")"
            if h.gpus > 0 { s += ", \(h.gpus) GPU\(h.gpus == 1 ? "" : "s")" }
            s += ", \(fixed(h.cpus, 1)) CPUs"
            if h.waiting > 0 { s += ", \(h.waiting) waiting" }
            if h.share != 1 { s += ", share \(fixed(h.share, 1))" }
            if !h.connected { s += ", coordinator away since \(formatUTC(h.last_seen))" }
            return s
        }.joined(separator: " · ")
        var free = capacity_gpus > 0 ? "\(free_gpus) of \(capacity_gpus) GPUs, " : ""
        free += "\(fixed(free_cpus, 1)) of \(fixed(capacity_cpus, 1)) CPUs"
        let held = available_cpus + 1e-9 < free_cpus || available_gpus < free_gpus ? " (held for another sweep by fair share)" : ""
        return "node \(node) (shared, as of \(formatUTC(updated_at))): \(holders); free \(free)\(held)"
    }

    /// "waiting: 6 runs; node gpu03 busy with 2 other sweeps" when this sweep's runs wait while other sweeps hold the
    /// nodes (nil when nothing waits or no other sweep holds anything).
    public static func waitingNote(pending: Int, _ views: [NodeShareView]) -> String? {
        guard pending > 0 else { return nil }
        let busy = views.filter { !$0.othersHolding.isEmpty && ($0.capacity_gpus > 0 ? $0.available_gpus == 0 : $0.available_cpus < 1 - 1e-9) }
        guard !busy.isEmpty else { return nil }
        return "waiting: \(pending) run\(pending == 1 ? "" : "s"); " + busy.map {
            "node \($0.node) busy with \($0.othersHolding.count) other sweep\($0.othersHolding.count == 1 ? "" : "s") (\($0.othersHolding.map(\.sweep).joined(separator: ", ")))"
        }.joined(separator: "; ")
    }
}
