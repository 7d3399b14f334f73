#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodiumCore
import PodiumProtocol
import PodiumSystem
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// The sweeps a node holds attempts of, and the explicit removal of one's leftovers (`podium nodes sweeps|clean`).
extension WorkerServer {
    /// Every sweep directory with attempts (live or with results not yet collected), with its coordinator's last visit,
    /// and every connected sweep.
    func sweepHoldings() -> [SweepHolding] {
        let dirs = attemptDirectories()
        let liveKeys = live.withLock { l in Set(l.values.map { OwnedKey(sweep: $0.request.sweep, key: AttemptKey($0.request.runID, $0.request.epoch)) }) }
        let connected = Set(connections.withLock { $0.keys })
        var out = [String: SweepHolding]()
        for a in dirs {
            let id = a.key.sweep
            var h = out[id] ?? {
                let record = tenantRecord(id)  // read once per sweep
                return SweepHolding(id: id, sweep: record?.sweep ?? id, live: 0, finished: 0, bytes: directoryBytes(workDir + "/" + id),
                                    connected: connected.contains(id), lastSeen: record.map { Double($0.generation) / 1000 })
            }()
            if liveKeys.contains(a.key) { h.live += 1 } else if FileManager.default.fileExists(atPath: a.path + "/result.json") { h.finished += 1 }
            out[id] = h
        }
        // A connected sweep with nothing here yet is listed too (it may be waiting for room).
        for t in connections.withLock({ $0.values.compactMap(\.tenant) }) where out[t.id] == nil {
            out[t.id] = SweepHolding(id: t.id, sweep: t.sweep, live: 0, finished: 0, bytes: 0, connected: true, lastSeen: Double(t.generation) / 1000)
        }
        for (id, t) in ledger.withLock({ $0.tenants }) where out[id] != nil && !t.connected && t.lastSeen > 0 {
            out[id]!.lastSeen = max(out[id]!.lastSeen ?? 0, t.lastSeen)
        }
        return out.values.sorted { $0.id < $1.id }
    }

    /// The sweep's persisted tenant record (its name, and the start of its newest coordinator).
    func tenantRecord(_ id: String) -> Tenant? {
        guard let d = FileManager.default.contents(atPath: "\(workDir)/tenants/\(id)") else { return nil }
        return try? JSONDecoder().decode(Tenant.self, from: d)
    }

    /// Stops the sweep's live attempts, waits for them to end, then deletes its attempt directories and record; answers
    /// on `writer`. Refused while the sweep's coordinator is connected.
    func clean(sweep id: String, reply writer: FrameWriter?) {
        guard isSafeName(id), id != "tenants" else {
            _ = writer.map { try? $0.send(Reply.error(runID: nil, message: "'\(id)' is not a sweep id")) }
            return
        }
        if connections.withLock({ $0[id] != nil }) {
            _ = writer.map { try? $0.send(Reply.error(runID: nil, message: "sweep \(id)'s coordinator is connected to this node; stop it (or let it finish) before cleaning up after it")) }
            return
        }
        let mine = live.withLock { l in l.values.filter { $0.request.sweep == id } }
        let known = FileManager.default.fileExists(atPath: workDir + "/" + id)
        guard known || !mine.isEmpty else {
            _ = writer.map { try? $0.send(Reply.error(runID: nil, message: "node \(node) holds nothing of sweep \(id) (see `podium nodes sweeps \(node)`)")) }
            return
        }
        BlockingThread.start { [self] in
            log("cleaning up after sweep \(id): stopping \(mine.count) live attempt(s)")
            for s in mine { s.cancel() }
            let until = monotonicSeconds() + 150
            while live.withLock({ l in l.values.contains { $0.request.sweep == id } }) && monotonicSeconds() < until { sleepSeconds(0.2) }
            let dirs = attemptDirectories().filter { $0.key.sweep == id }
            let bytes = directoryBytes(workDir + "/" + id)
            try? FileManager.default.removeItem(atPath: workDir + "/" + id)
            try? FileManager.default.removeItem(atPath: "\(workDir)/tenants/\(id)")
            knownDirs.withLock { k in for d in dirs { k[d.key] = nil } }
            logDigests.withLock { k in for d in dirs { k[d.key] = nil } }
            epochs.withLock { e in for k in e.keys where k.hasPrefix(id + "/") { e[k] = nil } }
            log("cleaned up after sweep \(id): \(dirs.count) attempt directories, \(bytes) bytes")
            _ = writer.map { try? $0.send(Reply.cleaned(sweep: id, stopped: mine.count, removed: dirs.count, bytes: bytes)) }
        }
    }
}

/// Bytes of the regular files under a directory (not following symlinks).
func directoryBytes(_ path: String) -> Int64 {
    var total: Int64 = 0
    let fm = FileManager.default
    for sub in (try? fm.subpathsOfDirectory(atPath: path)) ?? [] {
        var st = stat()
        if lstat(path + "/" + sub, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG { total += Int64(st.st_size) }
    }
    return total
}
