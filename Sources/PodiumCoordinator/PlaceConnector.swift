import PodiumCore
import PodiumProtocol
import PodiumSSH
import PodiumStore
import PodiumSystem

/// Opens connections to places off the loop, one at a time on its own thread: the worker's handshake, then the
/// place's public data staged and verified (answers never leave the coordinator). A connection reaches the loop only
/// once its place is ready for work; a failure reaches it as the reason.
final class PlaceConnector: Sendable {
    private let jobs = BlockingQueue<String?>()
    private let generations = Locked(0)

    /// `deliver` gets each connection's replies; `done` each outcome (both from other threads). With lazy data (a node
    /// declares a data_cache) nothing is staged here: runs wait for their data where they are placed (`CacheStager`).
    init(setup: SweepSetup, store: StateStore, tenant: Tenant?, workerCommand: [String], progress: Progress, manifests: Locked<[String: DataManifest]>,
         deliver: @escaping @Sendable (NodeInput) -> Void, done: @escaping @Sendable (SweepRunner.Input) -> Void) {
        let jobs = self.jobs, generations = self.generations
        BlockingThread.start {
            while true {
                guard let item = jobs.pop(timeout: 3600) else { continue }
                guard let name = item else { return }
                guard let node = setup.inventory.nodes.first(where: { $0.name == name }) else {
                    done(.connectFailed(place: name, reason: "not in the inventory", refused: false))
                    continue
                }
                let generation = generations.withLock { $0 += 1; return $0 }
                do {
                    let conn = try Self.open(node, generation: generation, tenant: tenant, setup: setup, workerCommand: workerCommand, deliver: deliver)
                    do {
                        if !setup.lazyData { try DataStager(setup: setup, store: store, progress: progress, manifests: manifests).stage(on: node) }
                    } catch {
                        conn.close()
                        throw error
                    }
                    done(.connected(conn))
                } catch {
                    let kind = (error as? SSHError)?.kind
                    let refused = kind == .hostKeyChanged || kind == .hostKeyUnknown || kind == .auth
                    done(.connectFailed(place: name, reason: "\(error)", refused: refused))
                }
            }
        }
    }

    func connect(_ place: String) { jobs.push(place, wait: false) }
    func stop() { jobs.push(nil, wait: false) }

    /// Connects one node (local: `podium-worker attach` as a child; ssh: the same over a verified session).
    static func open(_ node: NodeSpec, generation: Int, tenant: Tenant?, setup: SweepSetup, workerCommand: [String],
                     deliver: @escaping @Sendable (NodeInput) -> Void) throws -> WorkerConnection {
        let stateDir = directoryOf(setup.config.state)
        let logPath = stateDir + "/worker-\(node.name).log"
        switch node.transport {
        case .local:
            return try WorkerConnection.local(node: node, generation: generation, tenant: tenant, workerCommand: node.workerCommand ?? workerCommand,
                                              workDir: node.workDir ?? (stateDir + "/worker-" + node.name), stderrPath: logPath, deliver: deliver)
        case .ssh:
            return try WorkerConnection.ssh(node: node, generation: generation, tenant: tenant, target: SSHTarget.from(node: node),
                                            workerCommand: node.workerCommand ?? ["podium-worker"],
                                            workDir: node.workDir ?? "/var/lib/podium-worker", stderrPath: logPath, deliver: deliver)
        }
    }
}

/// Before a node gets work it must hold every competition's public data, checked by size and the sha256 podium
/// recorded there; missing or different files are pushed and verified.
struct DataStager {
    let setup: SweepSetup
    let store: StateStore
    let progress: Progress
    /// Public-data manifests of the sweep's competitions (computed once per coordinator run).
    let manifests: Locked<[String: DataManifest]>

    func stage(on node: NodeSpec) throws {
        let needsCheck = node.transport == .ssh || (node.dataDir ?? setup.config.dataDir) != setup.config.dataDir
        guard needsCheck else { return }
        var session: SSHSession?
        defer { session?.disconnect() }
        let files: NodeFiles
        if node.transport == .ssh {
            session = try SSHSession(target: SSHTarget.from(node: node))
            files = SSHNodeFiles(session: session!)
        } else {
            files = LocalNodeFiles()
        }
        for c in setup.competitions {
            let local = setup.publicDataDir(c.id), remote = setup.publicDataDir(c.id, node: node)
            let m: DataManifest
            if let known = manifests.withLock({ $0[c.id] }) { m = known } else {
                m = try DataManifest.of(directory: local, cacheFile: directoryOf(setup.config.state) + "/data-manifests/\(c.id).json")
                manifests.withLock { $0[c.id] = m }
            }
            let started = monotonicSeconds()
            let r: StagingResult
            do {
                r = try DataStaging.stage(manifest: m, localDir: local, remoteDir: remote, node: files)
            } catch {
                throw ConnectionError(node: node.name, message: "staging \(c.id)'s public data to \(remote) failed: \(error)")
            }
            if r.pushedFiles > 0 || r.hashedOnNode > 0 {
                let secs = monotonicSeconds() - started
                progress.note("staged \(c.id) on \(node.name): \(r.pushedFiles)/\(r.files) files pushed (\(r.pushedBytes) bytes, \(Int(Double(r.pushedBytes) / 1_048_576 / max(secs, 1e-3))) MiB/s), \(r.hashedOnNode) verified on the node")
            }
            try store.logEvent(kind: "data_staged", detail: "\(c.id) on \(node.name): \(r.files) files, \(r.bytes) bytes; pushed \(r.pushedFiles) (\(r.pushedBytes) bytes), hashed on node \(r.hashedOnNode)")
        }
    }
}
