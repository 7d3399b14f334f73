#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodiumCore
import PodiumProtocol
import PodiumSystem

/// A coordinator's requests, each acting only on its own sweep's attempts, and the sweeps' generations on disk.
extension WorkerServer {
    /// Newest coordinator generation seen for a sweep (kept in `<work-dir>/tenants/<id>`, so a daemon restart still
    /// refuses a stale coordinator).
    func tenantGeneration(_ id: String) -> Int? {
        guard let d = FileManager.default.contents(atPath: "\(workDir)/tenants/\(id)"),
              let t = try? JSONDecoder().decode(Tenant.self, from: d) else { return nil }
        return t.generation
    }

    func recordTenant(_ t: Tenant) {
        try? FileManager.default.createDirectory(atPath: workDir + "/tenants", withIntermediateDirectories: true)
        if let d = try? JSONEncoder().encode(t) { try? d.withUnsafeBytes { try writeFileDurably("\(workDir)/tenants/\(t.id)", $0) } }
    }

    /// The live attempt of a run of the sweep's, when its epoch is `epoch` (nil: any epoch).
    func liveAttempt(_ tenant: Tenant?, _ runID: String, _ epoch: Int? = nil) -> RunSupervisor? {
        live.withLock { l in
            l.values.first { Self.owns(tenant, $0.request.sweep) && $0.request.runID == runID && (epoch == nil || $0.request.epoch == epoch) }
        }
    }

    func handle(_ req: Request, tenant: Tenant? = nil) {
        let me = tenant?.id ?? ""
        switch req {
        case .hello:
            _ = writer(of: me).map { try? $0.send(Reply.error(runID: nil, message: "hello sent twice")) }
        case .start(let r):
            guard Self.owns(tenant, r.sweep) else {
                _ = writer(of: me).map { try? $0.send(Reply.error(runID: r.runID, message: "start of \(r.runID) names sweep \(r.sweep), not this connection's \(me)")) }
                return
            }
            start(r)
        case .cancel(let runID, let epoch):
            liveAttempt(tenant, runID, epoch)?.cancel()
        case .list:
            _ = writer(of: me).map { try? $0.send(Reply.held(held(for: tenant))) }
        case .streamLog(let runID, let epoch, let from):
            guard let dir = attemptDir(tenant, runID: runID, epoch: epoch) else { return }
            if let f = followers.withLock({ $0[dir.key] }) { f.reposition(from) } else { streamLog(dir, from: from) }
        case .fetchArtifacts(let runID, let epoch, let logBytes):
            guard let dir = attemptDir(tenant, runID: runID, epoch: epoch) else {
                _ = writer(of: me).map { try? $0.send(Reply.error(runID: runID, message: "no artifacts for \(runID) epoch \(epoch) on node \(node)")) }
                return
            }
            artifactQueue.push((dir.key.sweep, runID, epoch, logBytes ?? 0), wait: false)
        case .acknowledge(let runID, let epoch):
            if let dir = attemptDir(tenant, runID: runID, epoch: epoch), liveAttempt(tenant, runID, epoch) == nil {
                try? FileManager.default.removeItem(atPath: dir.path)
                logDigests.withLock { $0[dir.key] = nil }
                knownDirs.withLock { $0[dir.key] = nil }
            }
        case .exitWhenIdle:
            exitRequested.withLock { $0 = true }
        case .validationResult(let id, let result, let error, let status):
            let answer: ValidationAnswer = result.map { .result($0) }
                ?? .error(status, error ?? "Validation failed", "podium's coordinator could not validate the submission")
            pendingValidations.withLock { $0[id] }.flatMap { Self.owns(tenant, $0.sweep) ? $0.queue : nil }?.push(answer, wait: false)
        case .demand(let waiting, let smallest):
            demand(tenant, waiting: waiting, smallest: smallest)
        case .sweeps:
            _ = writer(of: me).map { try? $0.send(Reply.sweeps(tenant == nil ? sweepHoldings() : sweepHoldings().filter { $0.id == me })) }
        case .clean(let sweep):
            // An operator's request (a connection that speaks for no sweep), never a coordinator's.
            guard tenant == nil else {
                _ = writer(of: me).map { try? $0.send(Reply.error(runID: nil, message: "a sweep's coordinator cannot clean up after another sweep")) }
                return
            }
            clean(sweep: sweep, reply: writer(of: me))
        case .shutdown:
            break
        }
    }
}
