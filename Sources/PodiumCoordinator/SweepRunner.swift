#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import Logging
import PodiumCore
import PodiumGrading
import PodiumProtocol
import PodiumScheduler
import PodiumStore
import PodiumSystem

/// The coordinator's shell for one sweep. Every decision is `CoordinatorInstance`'s; this class only turns what
/// happens (node replies, finished connections, grades, storage checks, signals, time) into the instance's events and
/// carries out the directives it returns, in order — a transition is committed before anything after it is acted on.
/// The loop runs on the calling thread and never blocks on grading, hashing, fsync or connecting: those run on the
/// grading pool, the storage thread and the connector, and come back through the inbox.
public final class SweepRunner: @unchecked Sendable {
    public enum Input: Sendable {
        case node(NodeInput)
        case interrupt(Int32)
        /// A place's connection is open and its data staged, or it could not be.
        case connected(WorkerConnection)
        /// `refused`: a host key or user key refusal, which needs a person (the place is drained).
        case connectFailed(place: String, reason: String, refused: Bool)
        case event(CoordinatorEvent)
        /// Work off the loop failed in a way the sweep cannot go on from (the coordinator's disk is full).
        case failed(String)
    }

    public struct Options: Sendable {
        /// Command that starts a worker on the coordinator's machine (local transport).
        public var workerCommand: [String]
        /// Shown progress: a redrawn line on a TTY, plain lines otherwise.
        public var progress: Bool = true
        /// Seconds before an infra-failed run is retried (doubling each time).
        public var retryBackoff: Double = 5
        /// Grading threads (default: cores − 1, at least 1; `PODIUM_GRADING_WORKERS`).
        public var gradingWorkers: Int = GradingPool.defaultWorkers
        /// One JSON object per line on stdout for every run event, grade and progress tick (`podium sweep --events jsonl`).
        public var eventsJSONL: Bool = false
        public init(workerCommand: [String]) { self.workerCommand = workerCommand }
    }

    public struct Outcome: Sendable {
        public var interrupted: Bool
        public var counts: [RunState: Int]
    }

    let setup: SweepSetup
    let store: StateStore
    let options: Options
    /// Bounded: node replies (log data above all) wait in the readers — and so in the nodes, whose agents never wait
    /// (their logs go to disk first) — instead of piling up in the coordinator's memory.
    public let inbox = BlockingQueue<Input>(capacity: 16)
    let storage: AttemptStorage
    let progress: Progress
    let grading = GradingService()
    var connections: [String: WorkerConnection] = [:]
    var instance: CoordinatorInstance
    /// Staging of nodes' data caches (lazy data only).
    var stager: CacheStager?
    /// Diagnostics (`--log-level debug`/`trace`): each event and directive, with the sweep as metadata.
    let logger: Logger
    /// Events that directives answered at once (operator requests, a start that could not be sent).
    var followUps: [CoordinatorEvent] = []
    /// The sweep's log file beside its state, and the JSONL events.
    let journal: SweepJournal
    /// Where the sweep's log file is.
    public var journalPath: String { journal.path }

    /// Who this coordinator is on the nodes' daemons (protocol 5): they show it only its own sweep's attempts.
    var tenant: Tenant?
    /// Each node's load as its daemon last pushed it, and the nodes whose load is not in the state yet (written at
    /// most every 2 s: it is a view for `podium status`, not a decision).
    var nodeLoads: [String: NodeLoad] = [:]
    var loadsDirty = Set<String>()
    var loadsWrittenAt = -Double.infinity

    func noteLoad(_ node: String, _ load: NodeLoad) {
        guard nodeLoads[node] != load else { return }
        nodeLoads[node] = load
        loadsDirty.insert(node)
    }

    func writeLoads(force: Bool = false) {
        let now = monotonicSeconds()
        guard !loadsDirty.isEmpty, force || now - loadsWrittenAt >= 2 else { return }
        loadsWrittenAt = now
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let rows = loadsDirty.sorted().compactMap { n in nodeLoads[n].flatMap { try? enc.encode($0) }.map { (node: n, json: String(decoding: $0, as: UTF8.self)) } }
        loadsDirty.removeAll()
        do { try store.recordNodeLoads(sweep: setup.config.sweep, rows, at: wallClockSeconds()) } catch {
            logger.warning("cannot record the nodes' load: \(error)")
        }
    }

    /// The sweep's identity on the daemons: its name plus a digest of when this state registered it (never the same for
    /// two users' sweeps of one name), and a generation that grows with every start, so a stale coordinator of the same
    /// state is refused by the daemon instead of replacing this one.
    static func tenant(sweep: String, store: StateStore, share: Double = 1) throws -> Tenant {
        Tenant(id: try tenantID(sweep: sweep, store: store), sweep: sweep, generation: Int(wallClockSeconds() * 1000), share: share)
    }

    /// The sweep's tenant id on the nodes (its directory there): `podium nodes clean --sweep` and the views name it.
    public static func tenantID(sweep: String, store: StateStore) throws -> String {
        let created = try store.sweepCreatedAt(sweep: sweep) ?? 0
        return "\(sweep).\(SHA256.hex("\(sweep)|\(created)").prefix(12))"
    }

    /// Central copies: `<state dir>/runs/<sweep>/<run>/e<epoch>/`.
    public var artifactsRoot: String { storage.root }

    public init(setup: SweepSetup, store: StateStore, options: Options) {
        self.setup = setup
        self.store = store
        self.options = options
        self.progress = Progress(enabled: options.progress)
        self.storage = AttemptStorage(root: AttemptStorage.root(statePath: setup.config.state, sweep: setup.config.sweep))
        self.instance = CoordinatorInstance(config: Self.instanceConfig(setup, options), recovered: .init(runs: []))
        var logger = Logger(label: "podium.coordinator")
        logger[metadataKey: "sweep"] = "\(setup.config.sweep)"
        self.logger = logger
        self.journal = SweepJournal(statePath: setup.config.state, sweep: setup.config.sweep, jsonl: options.eventsJSONL)
    }

    static func instanceConfig(_ setup: SweepSetup, _ options: Options, dataBytes: [String: Int64] = [:]) -> CoordinatorInstance.Config {
        var c = CoordinatorInstance.Config(
            sweep: setup.config.sweep,
            places: setup.inventory.nodes.map {
                .init(name: $0.name, capacity: Resources($0), gpuModel: $0.gpuModel, dataCacheBytes: $0.dataCache?.maxBytes,
                      dataSource: $0.dataCache?.source.text ?? "push")
            },
            needs: setup.profilesByName.mapValues { .init(resources: Resources($0), gpuModel: $0.gpuModel) })
        c.maxInfraRetries = setup.config.maxInfraRetries
        c.retryBackoff = options.retryBackoff
        c.lostAfter = Double(setup.config.lostAfter.seconds)
        c.dataBytes = dataBytes
        return c
    }

    /// With lazy data, each competition's public data size (what a node's cache must make room for).
    static func lazyDataBytes(_ setup: SweepSetup) -> [String: Int64] {
        guard setup.lazyData else { return [:] }
        var out = [String: Int64]()
        for c in setup.competitions { out[c.id] = max(1, DataManifest.bytes(under: setup.publicDataDir(c.id))) }
        return out
    }

    // MARK: the loop

    public func run() throws -> Outcome {
        if try store.configVersions(sweep: setup.config.sweep).isEmpty {
            // Started without `ConfigVersioning.resolve` (tests, embedders): this configuration is version 1.
            try store.addConfigVersion(sweep: setup.config.sweep, version: 1, configJSON: setup.configJSON, agentJSON: setup.agentIdentityJSON)
        }
        try store.register(sweep: setup.config.sweep, configJSON: setup.configJSON, runs: setup.runs)
        try store.setAgent(sweep: setup.config.sweep, json: setup.agentIdentityJSON)
        tenant = try Self.tenant(sweep: setup.config.sweep, store: store, share: setup.config.share)
        instance = CoordinatorInstance(config: Self.instanceConfig(setup, options, dataBytes: Self.lazyDataBytes(setup)), recovered: try recover())
        let inbox = self.inbox
        let scratch = directoryOf(setup.config.state) + "/validations"
        let pool = GradingPool(workers: options.gradingWorkers, grade: { [setup, grading, storage] job in
            grading.grade(job, setup: setup, storage: storage)
        }, done: { job, record, summary in inbox.push(.event(.graded(job, record, summary: summary))) },
           validate: { [setup, grading] job in grading.validate(job, setup: setup, scratchDir: scratch) },
           validated: { job, verdict in inbox.push(.event(.validated(job, verdict))) })
        let storageThread = StorageThread(inbox: inbox)
        let manifests = Locked([String: DataManifest]())
        let connector = PlaceConnector(setup: setup, store: store, tenant: tenant, workerCommand: options.workerCommand, progress: progress,
                                       manifests: manifests, deliver: { inbox.push(.node($0)) }, done: { inbox.push($0) })
        let stagingThreads = min(8, max(1, instance.config.places.count * instance.config.maxStagesPerPlace))
        stager = setup.lazyData ? CacheStager(setup: setup, store: store, progress: progress, workerCommand: options.workerCommand,
                                              manifests: manifests, threads: stagingThreads,
                                              done: { job, outcome in inbox.push(.event(.dataStaged(job, outcome))) }) : nil
        defer {
            connector.stop()
            stager?.stop()
            pool.stop()
            storageThread.finish()
            storage.closeAll()
        }
        progress.start(total: instance.runs.count, done: instance.runs.values.filter { $0.state.isTerminal }.count)
        journal.log("sweep \(setup.config.sweep) (re)started by pid \(getpid()), podium \(podiumVersion): \(instance.runs.count) runs, \(instance.runs.values.filter { $0.state.isTerminal }.count) finished before")
        try carryOut(instance.start(now: monotonicSeconds()), pool: pool, storageThread: storageThread, connector: connector)
        var lastTick = monotonicSeconds()
        var lastETA = -Double.infinity
        var eta: Double?
        while !instance.isDone && !instance.interrupted {
            if (options.progress || options.eventsJSONL) && monotonicSeconds() - lastETA >= 5 {
                lastETA = monotonicSeconds()
                let sweep = setup.config.sweep
                if let runs = try? store.runs(sweep: sweep), let attempts = try? store.attempts(sweep: sweep) {
                    eta = SweepETA(runs: runs, attempts: attempts, now: wallClockSeconds()).etaHours
                    progress.setETA(hours: eta)
                }
                journal.progress(instance.counts, total: instance.runs.count, etaHours: eta)
            }
            progress.update(counts: instance.counts)
            let input = inbox.pop(timeout: 0.25)
            let now = monotonicSeconds()
            if let input, let event = try event(for: input) {
                logger.trace("event", metadata: ["event": "\(Self.brief(event))"])
                try carryOut(instance.on(event, now: now), pool: pool, storageThread: storageThread, connector: connector)
            }
            if input == nil || now - lastTick >= 0.25 {
                lastTick = now
                writeLoads()
                try carryOut(instance.on(.tick, now: now), pool: pool, storageThread: storageThread, connector: connector)
            }
        }
        progress.finish()
        writeLoads(force: true)
        journal.progress(instance.counts, total: instance.runs.count, etaHours: instance.isDone ? 0 : eta, final: true)
        journal.log(instance.interrupted ? "detached (interrupted); live attempts go on on their nodes"
                                         : "sweep over: \(instance.counts.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue) \($0.value)" }.joined(separator: ", "))")
        // Sweep over: daemons with nothing live may exit; an interrupted sweep leaves them running its attempts.
        if !instance.interrupted { for c in connections.values { try? c.send(.exitWhenIdle) } }
        storageThread.finish()  // the last fsyncs; the deferred cleanup finds it done
        for c in connections.values { c.close() }
        connections.removeAll()
        return Outcome(interrupted: instance.interrupted, counts: instance.counts)
    }

    /// What the durable state holds for the instance: runs, where their attempts are, central log lengths, what was
    /// stored and graded of the attempts being graded.
    func recover() throws -> CoordinatorInstance.Recovered {
        let sweep = setup.config.sweep
        var recovered = CoordinatorInstance.Recovered(runs: try store.runs(sweep: sweep))
        let current = Dictionary(uniqueKeysWithValues: recovered.runs.map { ($0.id, $0.epoch) })
        for a in try store.attempts(sweep: sweep) where current[a.runID] == a.epoch { recovered.attemptPlaces[a.runID] = a.node }
        for r in recovered.runs where r.state.hasLiveAttempt || r.state == .collecting {
            let key = AttemptKey(r.id, r.epoch)
            recovered.logBytes[key] = storage.logBytes(key)
        }
        let graded = Set(recovered.runs.filter { $0.state == .grading || $0.state == .completed }.map { AttemptKey($0.id, $0.epoch) })
        for (key, a) in try store.artifacts(sweep: sweep) where graded.contains(key) {
            recovered.artifacts[key, default: []].append(StoredArtifact(name: a.name, sha256: a.sha256, bytes: a.bytes, path: a.path,
                                                                        elapsedSeconds: a.elapsedSeconds))
        }
        for g in try store.grades(sweep: sweep) where graded.contains(AttemptKey(g.runID, g.epoch)) {
            recovered.graded[AttemptKey(g.runID, g.epoch), default: []].insert(g.artifact)
        }
        if setup.lazyData {
            let names = Set(setup.inventory.nodes.map(\.name))
            for d in try store.nodeData() where names.contains(d.node) { recovered.dataHeld[d.node, default: [:]][d.competition] = d.bytes }
        }
        return recovered
    }

    /// The instance's event for an input (nil: nothing to decide).
    func event(for input: Input) throws -> CoordinatorEvent? {
        switch input {
        case .interrupt(let sig):
            return .interrupt(signal: sig)
        case .node(.reply(let node, let reply)):
            if case .load(let l) = reply { noteLoad(node, l) }
            if case .busy(_, _, _, let l) = reply { noteLoad(node, l) }
            return .reply(place: node, reply)
        case .node(.disconnected(let node, let generation, let reason)):
            if connections[node]?.generation == generation { connections[node] = nil }
            return .placeUnreachable(place: node, generation: generation, reason: reason)
        case .connected(let conn):
            guard conn.alive.withLock({ $0 }) else {
                conn.close(timeout: 1)
                return .placeUnreachable(place: conn.node, generation: nil, reason: "the connection closed while it was set up")
            }
            connections[conn.node] = conn
            let spec = setup.inventory.nodes.first { $0.name == conn.node }
            return .placeConnected(place: conn.node, generation: conn.generation,
                                   offer: PlaceOffer(gpus: conn.welcome?.gpus, gpuModel: conn.welcome?.gpuModel,
                                                     workerVersion: conn.welcome?.workerVersion ?? "?", runtime: spec?.runtime.rawValue ?? "?"))
        case .connectFailed(let place, let reason, let refused):
            return refused ? .placeRefused(place: place, reason: reason) : .placeUnreachable(place: place, generation: nil, reason: reason)
        case .event(let e):
            return e
        case .failed(let message):
            throw CoordinatorIOError(description: message)
        }
    }

    // MARK: directives

    func carryOut(_ directives: [CoordinatorDirective], pool: GradingPool, storageThread: StorageThread, connector: PlaceConnector) throws {
        for d in directives {
            logger.trace("directive", metadata: ["directive": "\(Self.brief(d))"])
            switch d {
            case .persist(let runID, let event, let place, let result, let detail):
                if case .dispatch = event { failpoint("dispatch-before-commit") }
                try store.apply(event, to: runID, node: place, result: result, detail: detail, maxInfraRetries: setup.config.maxInfraRetries)
                if case .dispatch = event { failpoint("dispatch-after-commit") }
                journal.runEvent(instance.runs[runID]?.spec, runID: runID, event: event, node: place, detail: detail)
            case .record(let kind, let runID, let epoch, let detail):
                try store.logEvent(kind: kind, runID: runID, epoch: epoch, detail: detail)
            case .recordArtifact(let key, let a):
                try store.recordArtifact(runID: key.runID, epoch: key.epoch, name: a.name, sha256: a.sha256, bytes: a.bytes, path: a.path,
                                         elapsedSeconds: a.elapsedSeconds)
            case .recordGrade(let g):
                try store.recordGrade(g)
                journal.grade(g, spec: instance.runs[g.runID]?.spec)
            case .markHandled(let seq, let outcome):
                try store.markHandled(seq, outcome: outcome)
            case .connect(let place):
                logger.debug("connecting", metadata: ["node": "\(place)"])
                connector.connect(place)
            case .send(let place, let request):
                try? connections[place]?.send(request)
            case .start(let key, let place):
                if let spec = instance.runs[key.runID]?.spec {
                    storageThread.submit { [storage] in try storage.recordAttempt(spec, epoch: key.epoch, node: place); return nil }
                }
                do {
                    guard let conn = connections[place] else { throw ConnectionError(node: place, message: "not connected") }
                    try conn.send(.start(startRequest(key, place: place)))
                    failpoint("dispatch-after-send", flush: 0.5)
                } catch {
                    followUps.append(.startFailed(key, reason: "\(error)"))
                }
            case .appendLog(let key, let offset, let data):
                storageThread.submit { [storage] in try storage.appendLog(key, offset: offset, data: data); return nil }
            case .closeLog(let key, let bytes):
                storageThread.submit { [storage, store] in
                    if let fd = storage.takeLogFD(key) { try storage.syncAndClose(fd, key: key) }
                    try store.setLogBytes(runID: key.runID, epoch: key.epoch, bytes: bytes)
                    return nil
                }
            case .resetLog(let key):
                storageThread.submit { [storage] in storage.resetLog(key); return nil }
            case .writeChunk(let key, let name, let offset, let data):
                storageThread.submit { [storage] in try storage.writeChunk(key, name: name, offset: offset, data: data); return nil }
            case .storeFile(let key, let name, let sha, let data):
                if name.hasPrefix("submission/") { failpoint("artifact-copy") }
                storageThread.submit { [storage] in .storageChecked(key, try storage.store(key, name: name, sha256: sha, data: data)) }
            case .verifyFile(let key, let name, let sha, let bytes):
                storageThread.submit { [storage] in .storageChecked(key, try storage.verify(key, name: name, sha256: sha, bytes: bytes)) }
            case .grade(let job):
                if job.isFinal { failpoint("grading") }
                pool.submit(job)
            case .validate(let job):
                pool.submit(job)
            case .recordValidation(let key, let bytes, let v):
                try store.recordValidation(.init(runID: key.runID, epoch: key.epoch, at: wallClockSeconds(), seconds: v.seconds,
                                                 bytes: bytes, valid: v.valid, status: v.status, message: v.message))
            case .stageData(let job):
                guard let stager else { throw CoordinatorIOError(description: "internal error: staging asked for without a data cache") }
                stager.submit(job)
            case .pollRequests:
                followUps.append(.operatorRequests(try store.openRequests(sweep: setup.config.sweep)))
            case .note(let s):
                progress.note(s)
                journal.log(s)
            case .warn(let s):
                progress.warn(s)
                journal.log(s.trimmingCharacters(in: .whitespacesAndNewlines))
            case .abort(let message):
                if message.hasPrefix("no node could be reached") { throw ConnectionError(node: "all", message: message) }
                throw CoordinatorIOError(description: message)
            }
        }
        while !followUps.isEmpty {
            let e = followUps.removeFirst()
            try carryOut(instance.on(e, now: monotonicSeconds()), pool: pool, storageThread: storageThread, connector: connector)
        }
    }

    /// An event or directive for a diagnostic line, with bulk bytes shown as their size.
    static func brief(_ x: Any) -> String {
        let text = "\(x)"
        return text.count > 300 ? text.prefix(300) + "… (\(text.count) characters)" : text
    }

    /// What the place needs to start one attempt: the agent, its environment (secrets read here, never stored), the
    /// data's path there, the budget and the profile's limits.
    func startRequest(_ key: AttemptKey, place: String) -> StartRequest {
        let r = instance.runs[key.runID]!
        let p = setup.profilesByName[r.spec.profile]!
        var env = setup.config.agent.env
        env["AGENT_SEED"] = String(r.spec.attempt)
        for name in setup.config.agent.secrets {
            if let v = ProcessInfo.processInfo.environment[name] { env[name] = v }
        }
        var request = StartRequest(
            runID: key.runID, epoch: key.epoch, sweep: tenant?.id ?? r.spec.sweep, competition: r.spec.competition, image: setup.config.agent.image,
            command: setup.config.agent.command, env: env, secretNames: setup.config.agent.secrets,
            dataDir: setup.publicDataDir(r.spec.competition, node: setup.inventory.nodes.first { $0.name == place }),
            budgetSeconds: r.spec.budget.seconds,
            graceSeconds: setup.config.gracePeriod.seconds, snapshotIntervalSeconds: setup.config.snapshotInterval.seconds,
            cpus: p.cpus, memoryBytes: p.memoryBytes, shmBytes: p.shmBytes, gpus: p.gpus, network: setup.config.network)
        request.diskBytes = p.diskBytes ?? 0
        request.ociRuntime = p.ociRuntime ?? setup.config.agent.ociRuntime
        request.privileged = p.privileged
        request.user = setup.config.agent.user
        request.setupTimeoutSeconds = setup.config.agent.setupTimeout.seconds
        if let a = setup.mlebenchAgent {
            // MLE-bench's agent, unchanged: its env vars and kwargs, its secrets by name; TIME_LIMIT_SECS is the budget.
            for kv in a.env where kv.key != "TIME_LIMIT_SECS" { request.env[kv.key] = kv.value }
            for s in a.secretEnv {
                if let v = ProcessInfo.processInfo.environment[s.value] { request.env[s.key] = v }
                request.secretNames.append(s.key)
            }
            request.contract = "mlebench"
            request.startArguments = a.arguments
            request.privileged = a.privileged || p.privileged
            request.command = []
        }
        return request
    }

    /// Fault injection for the crash tests and scripts/fault-suite: with PODIUM_FAILPOINT=<name>, the coordinator kills
    /// itself (SIGKILL, no cleanup) the first time it reaches that point. Unset in normal use.
    func failpoint(_ name: String, flush: Double = 0) { Self.failpoint(name, flush: flush) }

    static func failpoint(_ name: String, flush: Double = 0) {
        guard failpointName == name else { return }
        if flush > 0 { sleepSeconds(flush) }  // let the writer thread put what was sent on the wire
        printError("podium: failpoint \(name): killing the coordinator (SIGKILL)")
        kill(getpid(), SIGKILL)
    }
    static let failpointName = ProcessInfo.processInfo.environment["PODIUM_FAILPOINT"]
}

/// A file operation of the coordinator failed (disk full, permissions): the sweep stops, the state stays consistent.
public struct CoordinatorIOError: Error, CustomStringConvertible {
    public var description: String
}
