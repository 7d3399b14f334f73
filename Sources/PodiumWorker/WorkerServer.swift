#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import PodiumCore
import PodiumProtocol
import PodiumSystem

/// Owns the attempts of one node and serves the frame protocol to whichever coordinator is connected.
/// As a daemon (`podium-worker daemon`) it outlives connections: attempts keep running while no coordinator is
/// attached, their results wait on disk, and a restarted daemon takes running containers over (`recover`).
/// As `podium-worker serve` (one connection, `stopOnDisconnect`) it stops its attempts when the connection ends.
public final class WorkerServer: @unchecked Sendable {
    public let node: String
    public let workDir: String
    /// This daemon's identity (made once per work directory, kept in `<work-dir>/daemon-id`): its containers carry it,
    /// and it only ever removes containers that carry it — never another daemon's on the same engine, even one that
    /// calls its node by the same name.
    public let daemonID: String
    let runtime: any AgentRuntime
    let version: String
    let capacity: (gpus: Int, cpus: Double, memoryBytes: Int64)
    public let gpuPool: GPUPool
    let stopOnDisconnect: Bool
    /// The connection `serve` mode starts with (taken by its first `serve`).
    let output = Locked<FrameWriter?>(nil)
    /// The open connection of each sweep (tenant id; "" for a connection without one), several at once: each sees only
    /// its own sweep's attempts, and a new connection of a sweep replaces only that sweep's earlier one.
    let connections = Locked<[String: Connection]>([:])
    struct Connection { var tenant: Tenant?; var writer: FrameWriter }
    /// sweep directory/runID → newest epoch seen (also from attempt directories on disk); an older epoch is refused.
    let epochs = Locked<[String: Int]>([:])
    /// sweep directory/runID → its live attempt.
    let live = Locked<[String: RunSupervisor]>([:])
    /// Attempt → its directory, so requests do not walk the whole work directory.
    let knownDirs = Locked<[OwnedKey: String]>([:])
    /// Set by `exitWhenIdle` on a daemon: exit once no attempt is live.
    public let exitRequested = Locked(false)
    /// Log senders of live attempts.
    let followers = Locked<[OwnedKey: LogFollower]>([:])
    /// SHA-256 of each finished attempt's log prefix as its follower read it (by "run#epoch"): collection hashes
    /// only what follows instead of re-reading gigabytes. Dropped on acknowledge; a daemon restart hashes in full.
    let logDigests = Locked<[OwnedKey: LogDigest]>([:])
    /// The node's resources across every sweep (WorkerServer+Ledger.swift), and the load each sweep's coordinator was
    /// last told.
    let ledger: Locked<NodeLedger>
    let sentLoads = Locked<[String: NodeLoad]>([:])

    /// `gpus` are the node's devices (from `GPUInventory.resolve`); the count reported to the coordinator is theirs.
    public init(node: String, workDir: String, runtime: any AgentRuntime, output: FrameWriter? = nil, version: String,
                capacity: (cpus: Double, memoryBytes: Int64), gpus: [GPUDevice] = [], diskBytes: Int64? = nil,
                fairnessWindow: Double = 30, stopOnDisconnect: Bool = true) {
        self.node = node; self.workDir = workDir; self.runtime = runtime
        self.ledger = Locked(NodeLedger(capacity: ResourceAmount(gpus: gpus.count, cpus: capacity.cpus, memoryBytes: capacity.memoryBytes,
                                                                 diskBytes: diskBytes ?? ResourceAmount.unlimitedDisk),
                                     fairnessWindow: max(0, fairnessWindow)))
        self.daemonID = Self.daemonIdentity(workDir: workDir)
        self.version = version; self.capacity = (gpus.count, capacity.cpus, capacity.memoryBytes)
        self.gpuPool = GPUPool(devices: gpus)
        self.stopOnDisconnect = stopOnDisconnect
        self.output.withLock { $0 = output }
        loadEpochs()
        // Artifact sends (possibly gigabytes) run in order on their own thread, so a start request for another run is
        // never stuck behind them.
        let queue = artifactQueue
        BlockingThread.start { [weak self] in
            while true {
                guard let job = queue.pop(timeout: 3600) else { continue }
                guard let self else { return }
                self.sendArtifacts(OwnedKey(sweep: job.sweep, key: AttemptKey(job.runID, job.epoch)), logBytes: job.logBytes)
            }
        }
        startLoadTicker()
    }

    let artifactQueue = BlockingQueue<(sweep: String, runID: String, epoch: Int, logBytes: Int64)>()

    /// Sends to the coordinator of the sweep whose attempts live in directory `sweep`; false when it is not connected
    /// or the send failed.
    @discardableResult
    func send(_ r: Reply, sweep: String) -> Bool { toCoordinator(of: sweep) { try $0.send(r) } }

    /// `send(.log(…))` from a buffer, without copying megabytes into a reply first.
    func sendLog(sweep: String, runID: String, epoch: Int, offset: Int64, bytes: UnsafeRawBufferPointer) -> Bool {
        toCoordinator(of: sweep) { try $0.sendLog(runID: runID, epoch: epoch, offset: offset, bytes: bytes) }
    }

    /// The connection that owns the sweep directory: its tenant's, else one without a tenant (which sees everything).
    func writer(of sweep: String) -> FrameWriter? {
        connections.withLock { c in (c[sweep] ?? c[""])?.writer }
    }

    func toCoordinator(of sweep: String, _ write: (FrameWriter) throws -> Void) -> Bool {
        guard let w = writer(of: sweep) else { return false }
        do { try write(w); return true } catch { log("cannot send to the coordinator of \(sweep): \(error)"); return false }
    }

    /// Whether a connection of `tenant` may see the attempts in sweep directory `sweep`.
    static func owns(_ tenant: Tenant?, _ sweep: String) -> Bool { tenant.map { $0.id == sweep } ?? true }

    func log(_ s: String) { printError("podium-worker[\(node)]: \(s)") }

    public var liveCount: Int { live.withLock { $0.count } }
    /// Open coordinator connections (of any sweep).
    public var connectionCount: Int { connections.withLock { $0.count } }

    /// Serves one connection until it closes. Once its handshake is done, `output` replaces any earlier connection's.
    public func serve(input: FrameReader, output connection: FrameWriter? = nil) {
        // Until `welcome` has gone out, this connection is not in `connections`: replies other threads send (a live
        // attempt's log follower, a finished attempt) must never reach the coordinator before the handshake's answer.
        let mine = connection ?? output.withLock { o -> FrameWriter? in let w = o; o = nil; return w }
        guard let mine else { return }
        var slot: String?
        defer { if let slot { connections.withLock { if $0[slot]?.writer === mine { $0[slot] = nil } } } }
        var tenant: Tenant?
        do {
            guard case .hello(let v, let who, let t) = try input.next(Request.self) else {
                try? mine.send(Reply.error(runID: nil, message: "expected hello as the first frame"))
                return
            }
            guard v == podiumProtocolVersion else {
                try? mine.send(Reply.error(runID: nil, message: FrameError.versionMismatch(ours: podiumProtocolVersion, theirs: v).description))
                return
            }
            tenant = t
            if let t {
                guard isSafeName(t.id) else {
                    try? mine.send(Reply.error(runID: nil, message: "sweep id '\(t.id)' is not a safe directory name"))
                    return
                }
                // A coordinator of this sweep that started earlier than one already seen is stale: refused, so it can
                // never fence or acknowledge what the newer one runs.
                if let newer = tenantGeneration(t.id), newer > t.generation {
                    try? mine.send(Reply.error(runID: nil, message: "a newer coordinator of sweep \(t.sweep) (generation \(newer)) has connected since this one (\(t.generation)) started; this coordinator is stale — stop it"))
                    return
                }
                recordTenant(t)
            }
            log("coordinator \(who) connected" + (t.map { " for sweep \($0.id)" } ?? ""))
            // A coordinator is here again: an earlier "exit when idle" (the previous sweep was over) no longer holds.
            exitRequested.withLock { $0 = false }
            try mine.send(Reply.welcome(protocolVersion: podiumProtocolVersion, workerVersion: version, node: node,
                                        gpus: capacity.gpus, cpus: capacity.cpus, memoryBytes: capacity.memoryBytes,
                                        gpuModel: gpuPool.model))
            let key = t?.id ?? ""
            slot = key
            let replaced = connections.withLock { c -> Bool in
                let had = c[key] != nil
                c[key] = Connection(tenant: t, writer: mine)
                return had
            }
            if replaced { log("a new connection of \(t.map { "sweep \($0.id)" } ?? "the coordinator") replaces its earlier one") }
            if let t { tenantConnected(t) }
            while true {
                let req = try input.next(Request.self)
                if case .shutdown = req { break }
                // Superseded by a newer connection of the same sweep: this one's requests are stale.
                guard connections.withLock({ $0[key]?.writer === mine }) else {
                    try? mine.send(Reply.error(runID: nil, message: "a newer connection of this sweep replaced this one; its requests are ignored"))
                    break
                }
                handle(req, tenant: t)
            }
        } catch FrameError.closed {
            log("coordinator disconnected")
        } catch {
            log("connection failed: \(error)")
        }
        // Validations of this sweep waiting on this connection get their answer now: its coordinator is gone.
        let stillConnected = slot.map { key in connections.withLock { $0[key].map { $0.writer !== mine } ?? false } } ?? false
        if !stillConnected, let tenant, slot != nil { tenantDisconnected(tenant) }
        if !stillConnected {
            for q in pendingValidations.withLock({ $0.values.filter { Self.owns(tenant, $0.sweep) }.map(\.queue) }) {
                q.push(.error(503, "Coordinator unreachable", "podium's coordinator disconnected while validating; the run goes on — try again later"), wait: false)
            }
        }
        if stopOnDisconnect { stopAll() }
    }

    /// Validations waiting for the coordinator's answer, by request id.
    let pendingValidations = Locked<[UInt64: (sweep: String, queue: BlockingQueue<ValidationAnswer>)]>([:])
    let nextValidationID = Locked<UInt64>(0)
    /// How long an agent's /validate waits for the coordinator (grading a large submission takes a while).
    static let validationTimeout: Double = 300

    /// Relays one /validate of an attempt to the coordinator and waits for its answer. No coordinator connected: 503 at
    /// once, and the attempt goes on (the agent may try again; its budget is not paused).
    func relayValidation(sweep: String, runID: String, epoch: Int, data: Data) -> ValidationAnswer {
        let id = nextValidationID.withLock { $0 += 1; return $0 }
        let answer = BlockingQueue<ValidationAnswer>(capacity: 1)
        pendingValidations.withLock { $0[id] = (sweep, answer) }
        defer { pendingValidations.withLock { $0[id] = nil } }
        guard send(.validate(runID: runID, epoch: epoch, requestID: id, data: data), sweep: sweep) else {
            return .error(503, "Coordinator unreachable",
                          "podium's coordinator is not connected to this node, so the submission could not be validated; the run goes on — try again later")
        }
        return answer.pop(timeout: Self.validationTimeout)
            ?? .error(504, "Validation timed out", "podium's coordinator did not answer within \(Int(Self.validationTimeout)) s; the run goes on")
    }

    /// What an attempt gets from the node besides its container.
    func services(sweep: String, runID: String, epoch: Int) -> AttemptServices {
        AttemptServices(validate: { [weak self] data in
            self?.relayValidation(sweep: sweep, runID: runID, epoch: epoch, data: data)
                ?? .error(503, "Coordinator unreachable", "the worker is shutting down")
        })
    }

    /// Runs and their epochs are the sweep's own: two sweeps' runs of one id never fence each other.
    static func runKey(_ sweep: String, _ runID: String) -> String { sweep + "/" + runID }

    func start(_ r: StartRequest) {
        let runKey = Self.runKey(r.sweep, r.runID)
        let fenced = epochs.withLock { seen -> Int? in
            if let e = seen[runKey], e >= r.epoch { return e }
            seen[runKey] = r.epoch
            return nil
        }
        if let newer = fenced {
            send(.error(runID: r.runID, message: "refused epoch \(r.epoch) of \(r.runID): epoch \(newer) was already seen (stale dispatch)"), sweep: r.sweep)
            return
        }
        // A newer epoch fences any older attempt of the same run still live here.
        if let old = live.withLock({ $0[runKey] }), old.request.epoch < r.epoch { old.cancel() }
        let owner = r.sweep + "/" + AttemptKey(r.runID, r.epoch).description
        if case .busy(let why) = admit(r, owner: owner) {
            send(.busy(runID: r.runID, epoch: r.epoch, message: "node \(node): \(why)", load: load(for: r.sweep)), sweep: r.sweep)
            return
        }
        guard let gpus = gpuPool.acquire(r.gpus, for: owner) else {
            releaseHolding(owner)
            send(.busy(runID: r.runID, epoch: r.epoch, message: "node \(node) has no \(r.gpus) free GPU(s) for \(r.runID) epoch \(r.epoch)",
                       load: load(for: r.sweep)), sweep: r.sweep)
            return
        }
        let labels = ["podium.sweep": r.sweep, "podium.run": r.runID, "podium.epoch": String(r.epoch),
                      "podium.node": node, "podium.attempt": r.env["AGENT_SEED"] ?? "1",
                      "podium.daemon": daemonID, "podium.work_dir": workDir]
        let layout = AttemptLayout(workDir: workDir, sweep: r.sweep, runID: r.runID, epoch: r.epoch)
        launch(RunSupervisor(request: r, layout: layout, runtime: runtime, labels: labels, gpus: gpus,
                             services: services(sweep: r.sweep, runID: r.runID, epoch: r.epoch)) { [weak self] in self?.emit($0, sweep: r.sweep) },
               owner: owner)
        send(.started(runID: r.runID, epoch: r.epoch, container: containerName(r, daemon: daemonID)), sweep: r.sweep)
    }

    func launch(_ sup: RunSupervisor, owner: String, logFrom: Int64 = 0) {
        let runID = sup.request.runID, epoch = sup.request.epoch, sweep = sup.request.sweep
        let key = OwnedKey(sweep: sweep, key: AttemptKey(runID, epoch)), runKey = Self.runKey(sweep, runID)
        let follower = LogFollower(path: sup.layout.agentLog, sweep: sweep, runID: runID, epoch: epoch, from: logFrom, server: self)
        followers.withLock { $0[key] = follower }
        live.withLock { $0[runKey] = sup }
        knownDirs.withLock { $0[key] = sup.layout.root }
        follower.start()
        BlockingThread.start { [self] in
            let result = sup.run()
            gpuPool.release(owner: owner)
            releaseHolding(owner)
            // The log's tail goes out before `finished`, so the coordinator rarely needs any of it again at collection.
            follower.finish(timeout: 30)
            if let d = follower.digest { logDigests.withLock { $0[key] = d } }
            followers.withLock { $0[key] = nil }
            live.withLock { if $0[runKey] === sup { $0[runKey] = nil } }
            send(.finished(runID: runID, epoch: epoch, result: result), sweep: sweep)
        }
    }

    /// What a supervisor reports: log growth only wakes the attempt's follower (which reads the file and sends it at
    /// the coordinator's pace), so an agent never waits on the network; everything else goes straight out.
    func emit(_ r: Reply, sweep: String) {
        if case .log(let runID, let epoch, _, _) = r {
            followers.withLock { $0[OwnedKey(sweep: sweep, key: AttemptKey(runID, epoch))] }?.wake()
            return
        }
        send(r, sweep: sweep)
    }

    /// Whether the coordinator of the sweep directory is connected.
    func isConnected(_ sweep: String) -> Bool { writer(of: sweep) != nil }


    /// Live attempts of the sweep's, and finished ones whose artifacts its coordinator has not acknowledged. Another
    /// sweep's attempts are not in it: to this coordinator they do not exist (never "stale", never fenced).
    func held(for tenant: Tenant? = nil) -> [HeldAttempt] {
        var out = live.withLock { $0.values.filter { Self.owns(tenant, $0.request.sweep) }.map { s in
            HeldAttempt(runID: s.request.runID, epoch: s.request.epoch, running: true, logBytes: fileSize(s.layout.agentLog))
        } }
        let liveKeys = Set(live.withLock { $0.values.map { OwnedKey(sweep: $0.request.sweep, key: AttemptKey($0.request.runID, $0.request.epoch)) } })
        for a in attemptDirectories() where Self.owns(tenant, a.key.sweep) && !liveKeys.contains(a.key) {
            guard let data = FileManager.default.contents(atPath: a.path + "/result.json"),
                  let result = try? JSONDecoder().decode(AttemptResult.self, from: data) else { continue }
            out.append(HeldAttempt(runID: a.key.key.runID, epoch: a.key.key.epoch, running: false, result: result, logBytes: fileSize(a.path + "/agent.log")))
        }
        return out.sorted { ($0.runID, $0.epoch) < ($1.runID, $1.epoch) }
    }

    /// Sends the log from `from` to its current end; chunks written later arrive live (the connection is already current).
    func streamLog(_ dir: AttemptDirectory, from: Int64) {
        let fd = open(dir.path + "/agent.log", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var offset = from
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
            if n <= 0 { break }
            send(.log(runID: dir.key.key.runID, epoch: dir.key.key.epoch, offset: offset, data: Data(buf[0..<n])), sweep: dir.key.sweep)
            offset += Int64(n)
        }
    }

    /// An attempt of a sweep: the sweep's directory on the node (its tenant id) and the run's epoch.
    struct OwnedKey: Hashable, Sendable { var sweep: String; var key: AttemptKey }
    struct AttemptDirectory { var key: OwnedKey; var path: String }

    /// Every `<work>/<sweep>/<run>/e<epoch>` on disk.
    func attemptDirectories() -> [AttemptDirectory] {
        let fm = FileManager.default
        var out = [AttemptDirectory]()
        for sweep in (try? fm.contentsOfDirectory(atPath: workDir)) ?? [] where isSafeName(sweep) && sweep != "tenants" {
            for run in (try? fm.contentsOfDirectory(atPath: "\(workDir)/\(sweep)")) ?? [] where isSafeName(run) {
                for e in (try? fm.contentsOfDirectory(atPath: "\(workDir)/\(sweep)/\(run)")) ?? [] where e.hasPrefix("e") {
                    if let epoch = Int(e.dropFirst()) {
                        out.append(AttemptDirectory(key: OwnedKey(sweep: sweep, key: AttemptKey(run, epoch)), path: "\(workDir)/\(sweep)/\(run)/\(e)"))
                    }
                }
            }
        }
        return out
    }

    func loadEpochs() {
        let dirs = attemptDirectories()
        epochs.withLock { seen in
            for a in dirs { seen[Self.runKey(a.key.sweep, a.key.key.runID)] = max(seen[Self.runKey(a.key.sweep, a.key.key.runID)] ?? 0, a.key.key.epoch) }
        }
        knownDirs.withLock { known in for a in dirs { known[a.key] = a.path } }
    }

    /// The directory of the sweep's attempt (for a connection without a sweep: of any sweep's).
    func attemptDir(_ tenant: Tenant?, runID: String, epoch: Int) -> AttemptDirectory? {
        guard isSafeName(runID) else { return nil }
        let key = AttemptKey(runID, epoch)
        if let tenant {
            let owned = OwnedKey(sweep: tenant.id, key: key)
            if let dir = knownDirs.withLock({ $0[owned] }), FileManager.default.fileExists(atPath: dir) { return AttemptDirectory(key: owned, path: dir) }
        }
        let found = attemptDirectories().first { $0.key.key == key && Self.owns(tenant, $0.key.sweep) }
        if let found { knownDirs.withLock { $0[found.key] = found.path } }
        return found
    }

    /// After a daemon restart: takes over every attempt that was started but has no result yet.
    public func recover() {
        for a in attemptDirectories() {
            let fm = FileManager.default
            guard !fm.fileExists(atPath: a.path + "/result.json"), let data = fm.contents(atPath: a.path + "/attempt.json"),
                  let record = try? JSONDecoder().decode(AttemptRecord.self, from: data) else { continue }
            let r = record.request
            let owner = r.sweep + "/" + AttemptKey(r.runID, r.epoch).description
            _ = gpuPool.acquire(record.gpus.count, for: owner)
            ledger.withLock { $0.reserve(owner, tenant: r.sweep, amount: r.amount, now: record.startedAt) }
            let layout = AttemptLayout(workDir: workDir, sweep: r.sweep, runID: r.runID, epoch: r.epoch)
            log("taking over \(r.runID) epoch \(r.epoch) (\(record.runtime) \(record.identity.prefix(12)), started \(Int(wallClockSeconds() - record.startedAt)) s ago)")
            launch(RunSupervisor(request: r, layout: layout, runtime: runtime, labels: record.labels, gpus: record.gpus,
                                 services: services(sweep: r.sweep, runID: r.runID, epoch: r.epoch), adopting: record) { [weak self] in self?.emit($0, sweep: r.sweep) }, owner: owner,
                   logFrom: fileSize(layout.agentLog))  // the coordinator says where its copy stands when it reconnects
        }
    }

    /// Stops every live attempt and waits for them to end (the single-connection `serve` mode).
    public func stopAll() {
        let sups = live.withLock { Array($0.values) }
        guard !sups.isEmpty else { return }
        log("stopping \(sups.count) attempt(s)")
        for s in sups { s.cancel() }
        let until = monotonicSeconds() + 120
        while !live.withLock({ $0.isEmpty }) && monotonicSeconds() < until { sleepSeconds(0.1) }
    }
}
