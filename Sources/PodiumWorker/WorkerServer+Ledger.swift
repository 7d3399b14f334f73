#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodiumCore
import PodiumProtocol
import PodiumSystem

/// The node's resources across sweeps: admission of starts, fair share, and the load pushed to every coordinator.
extension WorkerServer {
    /// Reserves what the attempt needs, or says why the node cannot take it now.
    func admit(_ r: StartRequest, owner: String) -> NodeLedger.Admission {
        let now = wallClockSeconds()
        let verdict = ledger.withLock { $0.admit(owner, tenant: r.sweep, amount: r.amount, now: now) }
        if case .busy(let why) = verdict { log("refused \(r.runID) epoch \(r.epoch) of \(r.sweep): \(why)") }
        pushLoads()
        return verdict
    }

    /// What an ended (or never started) attempt held is free again; every coordinator hears of it.
    func releaseHolding(_ owner: String) {
        ledger.withLock { $0.release(owner, now: wallClockSeconds()) }
        pushLoads()
    }

    func tenantConnected(_ t: Tenant) {
        ledger.withLock { $0.connected(t.id, sweep: t.sweep, share: t.share ?? 1, now: wallClockSeconds()) }
        sentLoads.withLock { $0[t.id] = nil }  // the new connection hears the load at once
        pushLoads()
    }

    func tenantDisconnected(_ t: Tenant) {
        ledger.withLock { $0.disconnected(t.id, now: wallClockSeconds()) }
        sentLoads.withLock { $0[t.id] = nil }
        pushLoads()
    }

    func demand(_ tenant: Tenant?, waiting: Int, smallest: ResourceAmount) {
        guard let tenant else { return }
        ledger.withLock { $0.demand(tenant.id, waiting: waiting, smallest: smallest) }
        pushLoads()
    }

    /// The load as the coordinator of sweep directory `sweep` sees it.
    func load(for sweep: String) -> NodeLoad { ledger.withLock { $0.load(for: sweep, now: wallClockSeconds()) } }

    /// Sends each connected sweep's coordinator its view of the load when it differs from what it was last told. Called
    /// on every change and once a second (fair share's hold on freed room ends with time, not with an event).
    func pushLoads() {
        let now = wallClockSeconds()
        let targets = connections.withLock { c in c.compactMap { k, v in v.tenant.map { (k, $0, v.writer) } } }
        guard !targets.isEmpty else { return }
        let loads = ledger.withLock { l in targets.map { l.load(for: $0.0, now: now) } }
        for (i, (key, _, writer)) in targets.enumerated() {
            let changed = sentLoads.withLock { sent -> Bool in
                guard sent[key] != loads[i] else { return false }
                sent[key] = loads[i]
                return true
            }
            if changed { try? writer.send(Reply.load(loads[i])) }
        }
    }

    func startLoadTicker() {
        BlockingThread.start { [weak self] in
            while true {
                sleepSeconds(1)
                guard let self else { return }
                self.pushLoads()
            }
        }
    }
}
