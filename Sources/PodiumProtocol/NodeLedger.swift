#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import PodiumCore

/// What one sweep holds on and wants from a node (for placement, fair share and `podium nodes`).
public struct TenantLoad: Codable, Sendable, Equatable {
    /// The tenant id (the sweep's directory on the node) and the sweep's name.
    public var id: String
    public var sweep: String
    /// Live attempts and what they hold.
    public var attempts: Int
    public var held: ResourceAmount
    /// Runs its coordinator says wait for a slot (0 when it is not connected).
    public var waiting: Int
    public var share: Double
    public var connected: Bool
    /// Wall-clock seconds of its last connection's start or end (for "has not connected for 3 days").
    public var lastSeen: Double
    public init(id: String, sweep: String, attempts: Int, held: ResourceAmount, waiting: Int, share: Double, connected: Bool, lastSeen: Double) {
        self.id = id; self.sweep = sweep; self.attempts = attempts; self.held = held; self.waiting = waiting
        self.share = share; self.connected = connected; self.lastSeen = lastSeen
    }
}

/// The node's load as the daemon pushes it to one coordinator: on connect and whenever it changes.
public struct NodeLoad: Codable, Sendable, Equatable {
    public var capacity: ResourceAmount
    /// Not held by any attempt.
    public var free: ResourceAmount
    /// What a start of this coordinator's would get now: `free`, or nothing while fair share holds the room for a sweep
    /// further below its entitlement.
    public var available: ResourceAmount
    /// What this coordinator's attempts hold.
    public var mine: ResourceAmount
    /// Every sweep that holds attempts or is connected, this one included.
    public var tenants: [TenantLoad]
    public init(capacity: ResourceAmount, free: ResourceAmount, available: ResourceAmount, mine: ResourceAmount, tenants: [TenantLoad]) {
        self.capacity = capacity; self.free = free; self.available = available; self.mine = mine; self.tenants = tenants
    }
}

/// The daemon's ledger of its node's resources across every sweep it serves, as a pure value (time passed in): the
/// real daemon and the deterministic simulation's places admit with the same code.
///
/// **Admission.** A start is granted only when what it needs fits in what no attempt holds; otherwise it is refused
/// as "node busy" (the coordinator puts the run back to waiting: no infra failure, no retry spent).
///
/// **Fair share** (weighted dominant resource fairness). A sweep's weighted dominant share is the largest fraction of
/// any one resource (GPUs, CPUs, memory, disk) its attempts hold, divided by its `share`. While room has been free for
/// less than `fairnessWindow` seconds, a start is refused when another connected sweep with runs waiting, whose
/// smallest run fits the room, has a lower weighted dominant share: the room is held for it. After the window anyone may
/// take it (the node never idles because a favoured sweep does not ask). Running attempts are never stopped for fairness.
///
/// Between sweeps of equal weighted share (on a node of one GPU both are at 0 whenever it frees) the one that used less
/// of the node recently, for its weight, goes first: usage is dominant-share-seconds decaying with `usageHalfLife`, so
/// shares 1 and 2 get 1/3 and 2/3 of a one-GPU node over time too.
public struct NodeLedger: Sendable, Equatable {
    public struct Holding: Sendable, Equatable {
        public var tenant: String
        public var amount: ResourceAmount
        public var since: Double = 0
    }
    public struct TenantInfo: Sendable, Equatable {
        public var sweep: String
        public var share: Double = 1
        public var connected = false
        public var waiting = 0
        /// Component-wise smallest need of its waiting runs.
        public var smallest = ResourceAmount.zero
        public var lastSeen: Double = 0
    }
    public enum Admission: Sendable, Equatable {
        case granted
        /// Refused, and why, in words for the operator.
        case busy(String)
    }

    public let capacity: ResourceAmount
    public var fairnessWindow: Double
    public var usageHalfLife: Double = 6 * 3600
    /// Each tenant's decayed usage of the node (dominant-share-seconds of ended attempts) and when it was last decayed.
    public struct Usage: Sendable, Equatable { public var value: Double; public var at: Double }
    public private(set) var usage: [String: Usage] = [:]
    /// Attempt (its owner key) → what it holds.
    public private(set) var holdings: [String: Holding] = [:]
    public private(set) var tenants: [String: TenantInfo] = [:]
    /// When the free room last grew.
    public private(set) var freedAt: Double = -.infinity
    public private(set) var used = ResourceAmount.zero

    public init(capacity: ResourceAmount, fairnessWindow: Double = 30) {
        self.capacity = capacity; self.fairnessWindow = fairnessWindow
    }

    public var free: ResourceAmount { capacity - used }

    /// A coordinator of the tenant connected (`share` from its sweep file) or went away (its demand no longer counts;
    /// its attempts keep what they hold).
    public mutating func connected(_ tenant: String, sweep: String, share: Double, now: Double) {
        var t = tenants[tenant] ?? TenantInfo(sweep: sweep)
        t.sweep = sweep; t.share = share > 0 ? share : 1; t.connected = true; t.lastSeen = now
        tenants[tenant] = t
    }

    public mutating func disconnected(_ tenant: String, now: Double) {
        guard tenants[tenant] != nil else { return }
        tenants[tenant]!.connected = false
        tenants[tenant]!.waiting = 0
        tenants[tenant]!.lastSeen = now
    }

    /// The coordinator's runs waiting for a slot, and the smallest need among them.
    public mutating func demand(_ tenant: String, waiting: Int, smallest: ResourceAmount) {
        guard tenants[tenant]?.connected == true else { return }
        tenants[tenant]!.waiting = max(0, waiting)
        tenants[tenant]!.smallest = smallest
    }

    /// What the tenant's attempts hold.
    public func held(by tenant: String) -> ResourceAmount {
        holdings.values.filter { $0.tenant == tenant }.reduce(.zero) { $0 + $1.amount }
    }

    public func weightedShare(_ tenant: String) -> Double {
        held(by: tenant).dominantShare(of: capacity) / (tenants[tenant]?.share ?? 1)
    }

    /// Recent usage for the tenant's weight: ended attempts' (decayed) and running ones' dominant-share-seconds.
    public func weightedUsage(_ tenant: String, now: Double) -> Double {
        var u = usage[tenant].map { $0.value * Self.decay(now - $0.at, usageHalfLife) } ?? 0
        for h in holdings.values where h.tenant == tenant { u += h.amount.dominantShare(of: capacity) * max(0, now - h.since) }
        return u / (tenants[tenant]?.share ?? 1)
    }

    static func decay(_ dt: Double, _ halfLife: Double) -> Double { halfLife > 0 ? pow(0.5, max(0, dt) / halfLife) : 0 }

    /// Whether `a` comes before `b` for freed room: lower weighted share, then lower weighted recent usage.
    func before(_ a: String, _ b: String, now: Double) -> Bool {
        let sa = weightedShare(a), sb = weightedShare(b)
        if abs(sa - sb) > 1e-9 { return sa < sb }
        return weightedUsage(a, now: now) < weightedUsage(b, now: now) - 1e-6
    }

    /// The connected sweep with waiting runs that fit the room and the lowest weighted share, when it is below the
    /// tenant's and the room is still held for it.
    public func favoured(over tenant: String, now: Double) -> String? {
        guard now - freedAt < fairnessWindow else { return nil }
        let room = free
        let ahead = tenants.keys.filter { id in
            let t = tenants[id]!
            return id != tenant && t.connected && t.waiting > 0 && t.smallest.fits(in: room) && before(id, tenant, now: now)
        }
        return ahead.min { before($0, $1, now: now) || (!before($1, $0, now: now) && $0 < $1) }
    }

    /// What a start of the tenant's would get now.
    public func available(to tenant: String, now: Double) -> ResourceAmount {
        favoured(over: tenant, now: now) == nil ? free.clamped : .zero
    }

    /// Reserves `amount` for the attempt `owner` of `tenant`, or says why not.
    public mutating func admit(_ owner: String, tenant: String, amount: ResourceAmount, now: Double) -> Admission {
        if holdings[owner] != nil { return .granted }
        guard amount.fits(in: free) else {
            return .busy("node busy: needs \(amount.text), free \(free.clamped.text) of \(capacity.text)" + othersText(tenant))
        }
        if let f = favoured(over: tenant, now: now) {
            let name = tenants[f]?.sweep ?? f
            return .busy(String(format: "node busy: fair share holds the free room for sweep %@ (it holds %.0f%% for share %g, this sweep %.0f%% for share %g; at equal shares, who used the node less lately goes first)",
                                name, held(by: f).dominantShare(of: capacity) * 100, tenants[f]?.share ?? 1,
                                held(by: tenant).dominantShare(of: capacity) * 100, tenants[tenant]?.share ?? 1))
        }
        reserve(owner, tenant: tenant, amount: amount, now: now)
        return .granted
    }

    /// Holds `amount` whether or not it fits (an attempt a restarted daemon takes over is running already).
    public mutating func reserve(_ owner: String, tenant: String, amount: ResourceAmount, now: Double) {
        guard holdings[owner] == nil else { return }
        holdings[owner] = Holding(tenant: tenant, amount: amount, since: now)
        used = used + amount
        if tenants[tenant] == nil { tenants[tenant] = TenantInfo(sweep: tenant) }
    }

    /// The attempt ended (any way): what it held is free.
    public mutating func release(_ owner: String, now: Double) {
        guard let h = holdings.removeValue(forKey: owner) else { return }
        used = used - h.amount
        freedAt = now
        let old = usage[h.tenant].map { $0.value * Self.decay(now - $0.at, usageHalfLife) } ?? 0
        usage[h.tenant] = Usage(value: old + h.amount.dominantShare(of: capacity) * max(0, now - h.since), at: now)
    }

    /// The load as the tenant's coordinator sees it.
    public func load(for tenant: String?, now: Double) -> NodeLoad {
        var byTenant = [String: (n: Int, held: ResourceAmount)]()
        for h in holdings.values { byTenant[h.tenant, default: (0, .zero)].n += 1; byTenant[h.tenant]!.held = byTenant[h.tenant]!.held + h.amount }
        let list = tenants.filter { $0.value.connected || byTenant[$0.key] != nil }.keys.sorted().map { id -> TenantLoad in
            let t = tenants[id]!
            return TenantLoad(id: id, sweep: t.sweep, attempts: byTenant[id]?.n ?? 0, held: byTenant[id]?.held ?? .zero,
                              waiting: t.connected ? t.waiting : 0, share: t.share, connected: t.connected, lastSeen: t.lastSeen)
        }
        return NodeLoad(capacity: capacity, free: free.clamped, available: tenant.map { available(to: $0, now: now) } ?? free.clamped,
                        mine: tenant.map { held(by: $0) } ?? used, tenants: list)
    }

    func othersText(_ tenant: String) -> String {
        let others = Set(holdings.values.map(\.tenant)).subtracting([tenant])
        return others.isEmpty ? "" : " (held by \(others.count) other sweep\(others.count == 1 ? "" : "s") too)"
    }
}
