#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import PodiumCore
import PodiumGrading
import PodiumProtocol
import PodiumScheduler
import PodiumSSH
import PodiumStore

/// The coordinator's shell for one sweep: reconciles the state, connects nodes, carries out the scheduler's
/// directives, streams logs, collects artifacts, grades centrally. Every state change is committed before it is
/// acted on. Runs its loop on the calling thread (blocking I/O never touches Swift's cooperative pool).
public final class SweepRunner: @unchecked Sendable {
    public enum Input: Sendable {
        case node(NodeInput)
        case interrupt(Int32)
    }

    public struct Options: Sendable {
        /// Command that starts a worker on the coordinator's machine (local transport).
        public var workerCommand: [String]
        /// Shown progress: a redrawn line on a TTY, plain lines otherwise.
        public var progress: Bool = true
        /// Seconds before an infra-failed run is retried (doubling each time).
        public var retryBackoff: Double = 5
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
    let nodeInbox = BlockingQueue<NodeInput>(capacity: 8)
    var connections: [String: WorkerConnection] = [:]
    var scheduler = Scheduler(policy: .firstAttemptsThenLongest)
    var runs: [String: RunRecord] = [:]
    var retryAt: [(at: Double, runID: String)] = []
    /// Unreachable nodes: since when, and when to try again (with the current backoff).
    var downSince: [String: Double] = [:]
    var reconnectAt: [String: (at: Double, delay: Double)] = [:]
    var logFDs: [String: Int32] = [:]
    var logBytes: [String: Int64] = [:]
    let grading = GradingService()
    let progress: Progress

    /// Central copies: `<state dir>/runs/<sweep>/<run>/e<epoch>/`.
    public var artifactsRoot: String { directoryOf(setup.config.state) + "/runs/" + setup.config.sweep }

    public init(setup: SweepSetup, store: StateStore, options: Options) {
        self.setup = setup
        self.store = store
        self.options = options
        self.progress = Progress(enabled: options.progress)
    }

    var maxRetries: Int { setup.config.maxInfraRetries }
    /// Attempts whose agent.log is being fetched whole again (the streamed copy did not match the node's).
    var logResent = Set<String>()
    var pendingLogRefetch = Set<String>()
    var logArtifactBytes = [String: Int64]()
    /// Nodes taken out of placement (disk full) for the rest of this run.
    var drained = Set<String>()
    /// Public-data manifests of the sweep's competitions (computed once per coordinator run).
    var manifests = [String: DataManifest]()

    // MARK: the loop

    public func run() throws -> Outcome {
        try store.register(sweep: setup.config.sweep, configJSON: setup.configJSON, runs: setup.runs)
        for r in try store.runs(sweep: setup.config.sweep) { runs[r.id] = r }
        try connectNodes()
        let early = try reconcile()
        let pending = runs.values.filter { $0.state == .pending }
        apply(scheduler.on(.enqueue(pending.map(queued))))
        for r in runs.values where r.state == .grading { try gradeAndFinish(r) }

        // Node replies arrive on their reader threads; fold them into the one inbox.
        let nodeInbox = self.nodeInbox, inbox = self.inbox
        for i in early { inbox.push(.node(i), wait: false) }
        BlockingThread.start { while true { if let i = nodeInbox.pop(timeout: 3600) { inbox.push(.node(i)) } } }

        var interrupted = false
        progress.start(total: runs.count, done: runs.values.filter { $0.state.isTerminal }.count)
        var lastRequestCheck = 0.0
        try handleRequests()
        while !allDone() {
            showProgress()
            try tendDownNodes()
            if monotonicSeconds() - lastRequestCheck >= 1 {
                lastRequestCheck = monotonicSeconds()
                try handleRequests()
            }
            let now = monotonicSeconds()
            let due = retryAt.filter { $0.at <= now }
            if !due.isEmpty {
                retryAt.removeAll { $0.at <= now }
                apply(scheduler.on(.enqueue(due.compactMap { runs[$0.runID] }.filter { $0.state == .pending }.map(queued))))
            }
            guard let input = inbox.pop(timeout: 1) else { continue }
            switch input {
            case .interrupt(let sig):
                let live = runs.values.filter { $0.state.hasLiveAttempt }.count
                printError("\npodium: received signal \(sig); detaching. \(live) attempt(s) keep running on their nodes; run the same command again to resume.")
                interrupted = true
            case .node(.disconnected(let node, let reason)):
                try markDown(node, reason: reason)
            case .node(.reply(let node, let reply)):
                try handle(reply, from: node)
            }
            if interrupted { break }
        }
        progress.finish()
        // Sweep over: daemons with nothing live may exit; an interrupted sweep leaves them running its attempts.
        if !interrupted { for c in connections.values { try? c.send(.exitWhenIdle) } }
        closeAll()
        for fd in logFDs.values { close(fd) }
        var counts = [RunState: Int]()
        for r in runs.values { counts[r.state, default: 0] += 1 }
        return Outcome(interrupted: interrupted, counts: counts)
    }

    func allDone() -> Bool { runs.values.allSatisfy { $0.state.isTerminal } }

    /// Fault injection for the crash tests and scripts/fault-suite: with PODIUM_FAILPOINT=<name>, the coordinator kills
    /// itself (SIGKILL, no cleanup) the first time it reaches that point. Unset in normal use.
    func failpoint(_ name: String, flush: Double = 0) {
        guard Self.failpointName == name else { return }
        if flush > 0 { sleepSeconds(flush) }  // let the writer thread put what was sent on the wire
        printError("podium: failpoint \(name): killing the coordinator (SIGKILL)")
        kill(getpid(), SIGKILL)
    }
    static let failpointName = ProcessInfo.processInfo.environment["PODIUM_FAILPOINT"]

    // MARK: operator requests

    /// `podium cancel` / `podium retry` requests written to the state by other processes.
    func handleRequests() throws {
        // Pending runs are dropped before live attempts are stopped, so a freed slot never goes to a run that the same
        // batch cancels.
        let open = try store.openRequests(sweep: setup.config.sweep)
        let ordered = open.filter { runs[$0.runID]?.state == .pending } + open.filter { runs[$0.runID]?.state != .pending }
        for req in ordered {
            guard let r = runs[req.runID] else {
                try store.markHandled(req.seq, outcome: "no such run in sweep \(setup.config.sweep)")
                continue
            }
            let outcome: String
            switch OperatorRequests.decide(req.kind, state: r.state) {
            case .cancelPending:
                try transition(r.id, .cancel, detail: "operator cancel")
                apply(scheduler.on(.cancel(runID: r.id)))
                outcome = "cancelled (was pending)"
            case .stopLive:
                let node = r.node ?? lastNode(r) ?? "?"
                try? connections[node]?.send(.cancel(runID: r.id, epoch: r.epoch))
                try finishAttempt(r, outcome: .cancelled, result: nil, detail: "operator cancel; attempt \(r.epoch) stopped on \(node)")
                outcome = connections[node] == nil
                    ? "cancelled; node \(node) is unreachable, its attempt is fenced when it returns"
                    : "cancelled; attempt \(r.epoch) stopped on \(node)"
            case .retry:
                let after = try transition(r.id, .retry, detail: "operator retry")
                apply(scheduler.on(.enqueue([queued(after)])))
                outcome = "requeued (was \(r.state.rawValue))"
            case .close(let why):
                outcome = why
            }
            try store.markHandled(req.seq, outcome: outcome)
            progress.note("operator \(req.kind.rawValue) \(r.spec.label): \(outcome)")
        }
    }

    func queued(_ r: RunRecord) -> QueuedRun {
        let p = setup.profilesByName[r.spec.profile]
        let needs = p.map(Resources.init) ?? Resources(gpus: 0, cpus: 1, memoryBytes: 1 << 30)
        return QueuedRun(id: r.id, competition: r.spec.competition, attempt: r.spec.attempt,
                         budgetSeconds: r.spec.budget.seconds, needs: needs, sequence: r.sequence, gpuModel: p?.gpuModel)
    }

    // MARK: reconcile

    /// Before scheduling: asks every node which attempts it holds and matches them with the state. Live attempts of
    /// the current epoch are adopted (resources held, log streamed from the central copy's end), finished ones are
    /// collected, attempts the nodes do not know are lost (requeued with a higher epoch), and attempts the state does
    /// not expect are fenced (cancelled) or cleaned up. Returns replies that arrived meanwhile, to be handled next.
    func reconcile() throws -> [NodeInput] {
        for c in connections.values { try? c.send(.list) }
        var held = [String: [HeldAttempt]]()
        var early = [NodeInput]()
        let until = monotonicSeconds() + 30
        while held.count < connections.count && monotonicSeconds() < until {
            guard let input = nodeInbox.pop(timeout: 1) else { continue }
            if case .reply(let node, .held(let list)) = input { held[node] = list } else { early.append(input) }
        }
        for (node, list) in held.sorted(by: { $0.key < $1.key }) { try reconcile(node: node, held: list) }
        return early
    }

    /// Matches what one node holds with the state (at startup, and whenever a node comes back).
    func reconcile(node: String, held: [HeldAttempt]) throws {
        var finishedNow = [(RunRecord, AttemptResult)]()
        for r in runs.values where r.state.hasLiveAttempt && (r.node ?? lastNode(r)) == node {
            guard let h = held.first(where: { $0.runID == r.id && $0.epoch == r.epoch }) else {
                try finishAttempt(r, outcome: .lost, result: nil,
                                  detail: "node \(node) does not hold attempt \(r.epoch) any more; it is requeued")
                continue
            }
            if r.state == .dispatched { try transition(r.id, .started, detail: "adopted on reconnection") }
            apply(scheduler.on(.adopt(runID: r.id, node: node, needs: queued(r).needs)))
            let central = fileSize(attemptDir(r.id, r.epoch) + "/agent.log")
            try? connections[node]?.send(.streamLog(runID: r.id, epoch: r.epoch, from: central))
            try store.logEvent(kind: "adopted", runID: r.id, epoch: r.epoch,
                               detail: "\(h.running ? "running" : "finished") on \(node); log resumes at byte \(central)")
            if !h.running, let result = h.result { finishedNow.append((runs[r.id]!, result)) }
        }
        // Attempts the state does not expect: fence live ones, clean up finished ones nobody will collect.
        for h in held {
            let r = runs[h.runID]
            let expected = r.map { $0.epoch == h.epoch && ($0.state.hasLiveAttempt || $0.state == .collecting) } ?? false
            if expected { continue }
            if h.running {
                try? connections[node]?.send(.cancel(runID: h.runID, epoch: h.epoch))
                try store.logEvent(kind: "fenced", runID: h.runID, epoch: h.epoch, detail: "stale attempt on \(node) cancelled")
            } else if r == nil || r!.epoch != h.epoch || r!.state.isTerminal {
                try? connections[node]?.send(.acknowledge(runID: h.runID, epoch: h.epoch))
            }
        }
        for (r, result) in finishedNow {
            try finishAttempt(r, outcome: result.outcome, result: result, detail: result.message)
        }
        // Attempts that ended but whose artifacts were not all in when the connection broke (or the coordinator
        // stopped): ask again now that the node is back.
        for r in runs.values where r.state == .collecting && (r.node ?? lastNode(r)) == node {
            if held.contains(where: { $0.runID == r.id && $0.epoch == r.epoch }) {
                requestArtifacts(r)
            } else {
                try finishAttempt(r, outcome: .lost, result: nil,
                                  detail: "node \(node) no longer holds attempt \(r.epoch)'s artifacts; a new attempt runs")
            }
        }
    }

    // MARK: nodes

    func connectNodes() throws {
        var failures = [String]()
        for node in setup.inventory.nodes {
            do { try connect(node) } catch {
                failures.append("\(node.name): \(error)")
                try markDown(node.name, reason: "\(error)")
            }
        }
        for f in failures { printError("podium: node \(f)") }
        guard !connections.isEmpty else {
            throw ConnectionError(node: "all", message: "no node could be reached:\n  " + failures.joined(separator: "\n  "))
        }
    }

    /// Connects one node (local: `podium-worker attach` as a child; ssh: the same over a verified session).
    func connect(_ node: NodeSpec) throws {
        let logPath = directoryOf(setup.config.state) + "/worker-\(node.name).log"
        let conn: WorkerConnection
        switch node.transport {
        case .local:
            conn = try WorkerConnection.local(node: node, workerCommand: node.workerCommand ?? options.workerCommand,
                                              workDir: node.workDir ?? (directoryOf(setup.config.state) + "/worker-" + node.name),
                                              stderrPath: logPath, inbox: nodeInbox)
        case .ssh:
            conn = try WorkerConnection.ssh(node: node, target: SSHTarget.from(node: node),
                                            workerCommand: node.workerCommand ?? ["podium-worker"],
                                            workDir: node.workDir ?? "/var/lib/podium-worker", stderrPath: logPath, inbox: nodeInbox)
        }
        connections[node.name] = conn
        downSince[node.name] = nil
        reconnectAt[node.name] = nil
        // Place against the GPUs the worker found (or its declared stand-in slots), not only the inventory's word.
        let gpus = conn.welcome?.gpus ?? node.gpus
        do { try stageData(on: node) } catch {
            conn.close()
            connections[node.name] = nil
            throw error
        }
        if gpus != node.gpus {
            printError("podium: node \(node.name): the inventory declares \(node.gpus) GPU(s), the worker has \(gpus); using \(gpus)")
        }
        // Placement by GPU model follows what nvidia-smi says on the node, not only the inventory's word.
        let (gpuModel, modelWarning) = effectiveGPUModel(declared: node.gpuModel, reported: conn.welcome?.gpuModel)
        if let modelWarning {
            printError("podium: node \(node.name): \(modelWarning)")
            try store.logEvent(kind: "gpu_model_mismatch", detail: "\(node.name): \(modelWarning)")
        }
        try store.logEvent(kind: "node_up", detail: "\(node.name): worker \(conn.welcome?.workerVersion ?? "?"), runtime \(node.runtime), \(gpus) GPU(s)")
        apply(scheduler.on(.nodeUp(name: node.name,
                                   capacity: Resources(gpus: gpus, cpus: node.cpus, memoryBytes: node.memoryBytes,
                                                       diskBytes: node.diskBytes ?? Resources.unlimitedDisk),
                                   gpuModel: gpuModel)))
        if drained.contains(node.name) { apply(scheduler.on(.nodeDown(name: node.name))) }  // reconnected, still drained
    }

    /// A node that reported a fault of its own (disk full) gets no new work for the rest of this coordinator run; its
    /// live attempts go on. Freeing the space and running `podium sweep` again brings it back.
    func drain(_ node: String, reason: String) throws {
        guard drained.insert(node).inserted else { return }
        apply(scheduler.on(.nodeDown(name: node)))
        printError("podium: node \(node) drained: \(reason); no new work goes there until space is freed and the sweep restarted")
        try store.logEvent(kind: "node_drained", detail: "\(node): \(reason)")
    }

    /// Before a node gets work: it must hold every competition's public data (answers never leave the coordinator).
    /// Checked by size and the sha256 podium recorded there; missing or different files are pushed and verified.
    func stageData(on node: NodeSpec) throws {
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
            if manifests[c.id] == nil {
                manifests[c.id] = try DataManifest.of(directory: local, cacheFile: directoryOf(setup.config.state) + "/data-manifests/\(c.id).json")
            }
            let m = manifests[c.id]!
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

    /// A node stopped answering: no new work goes there, reconnection is tried with backoff, and only after
    /// `lost_after` are its attempts declared lost and requeued (they may well be running on, under the daemon).
    func markDown(_ node: String, reason: String) throws {
        if let c = connections[node], c.alive.withLock({ $0 }) { return }  // a late notice about an older connection
        connections.removeValue(forKey: node)
        if downSince[node] == nil {
            downSince[node] = monotonicSeconds()
            printError("podium: node \(node) is unreachable (\(reason)); retrying; its attempts are requeued if it stays away for \(setup.config.lostAfter)")
            try store.logEvent(kind: "node_down", detail: "\(node): \(reason)")
        }
        reconnectAt[node] = (monotonicSeconds() + (reconnectAt[node]?.delay ?? 2), min((reconnectAt[node]?.delay ?? 1) * 2, 60))
        apply(scheduler.on(.nodeDown(name: node)))
    }

    /// Reconnects nodes whose retry is due; requeues the attempts of nodes silent for longer than `lost_after`.
    func tendDownNodes() throws {
        let now = monotonicSeconds()
        for (name, since) in downSince {
            if now - since >= Double(setup.config.lostAfter.seconds) {
                for r in runs.values where r.node == name && r.state.hasLiveAttempt {
                    try finishAttempt(r, outcome: .lost, result: nil,
                                      detail: "node \(name) unreachable for \(Int(now - since)) s (lost_after \(setup.config.lostAfter)); requeued")
                }
            }
            guard let due = reconnectAt[name], due.at <= now, let spec = setup.inventory.nodes.first(where: { $0.name == name }) else { continue }
            do {
                try connect(spec)
                printError("podium: node \(name) is back")
                try connections[name]?.send(.list)  // its `.held` answer reconciles it
            } catch {
                reconnectAt[name] = (now + due.delay, min(due.delay * 2, 60))
            }
        }
    }

    func closeAll() {
        for c in connections.values { c.close() }
        connections.removeAll()
    }

    // MARK: directives

    func apply(_ directives: [SchedulerDirective]) {
        for d in directives {
            switch d {
            case .place(let runID, let node):
                do { try dispatch(runID, to: node) } catch { printError("podium: dispatch of \(runID) failed: \(error)") }
            }
        }
    }

    func dispatch(_ runID: String, to node: String) throws {
        guard let r = runs[runID], r.state == .pending else { return }
        let epoch = r.epoch + 1
        failpoint("dispatch-before-commit")
        try transition(runID, .dispatch(epoch: epoch), node: node, detail: "to \(node)")
        failpoint("dispatch-after-commit")
        let p = setup.profilesByName[r.spec.profile]!
        var env = setup.config.agent.env
        env["AGENT_SEED"] = String(r.spec.attempt)
        for name in setup.config.agent.secrets {
            if let v = ProcessInfo.processInfo.environment[name] { env[name] = v }
        }
        let req = StartRequest(
            runID: runID, epoch: epoch, sweep: r.spec.sweep, competition: r.spec.competition, image: setup.config.agent.image,
            command: setup.config.agent.command, env: env, secretNames: setup.config.agent.secrets,
            dataDir: setup.publicDataDir(r.spec.competition, node: setup.inventory.nodes.first { $0.name == node }),
            budgetSeconds: r.spec.budget.seconds,
            graceSeconds: setup.config.gracePeriod.seconds, snapshotIntervalSeconds: setup.config.snapshotInterval.seconds,
            cpus: p.cpus, memoryBytes: p.memoryBytes, shmBytes: p.shmBytes, gpus: p.gpus, network: setup.config.network)
        var request = req
        request.ociRuntime = setup.config.agent.ociRuntime
        request.user = setup.config.agent.user
        do {
            guard let conn = connections[node] else { throw ConnectionError(node: node, message: "not connected") }
            try conn.send(.start(request))
            failpoint("dispatch-after-send", flush: 0.5)
        } catch {
            try finishAttempt(runs[runID]!, outcome: .infraError, result: nil, detail: "could not send the start request: \(error)")
        }
    }

    // MARK: replies

    /// True when the reply is about the run's current attempt; stale ones are recorded and ignored.
    func isCurrent(_ runID: String, _ epoch: Int, _ what: String) throws -> RunRecord? {
        guard let r = runs[runID] else { return nil }
        guard r.epoch == epoch else {
            try store.logEvent(kind: "stale_reply", runID: runID, epoch: epoch, detail: "\(what) for epoch \(epoch); current is \(r.epoch)")
            return nil
        }
        return r
    }

    func handle(_ reply: Reply, from node: String) throws {
        switch reply {
        case .started(let runID, let epoch, let container):
            guard let r = try isCurrent(runID, epoch, "started"), r.state == .dispatched else {
                if runs[runID]?.epoch != epoch { try? connections[node]?.send(.cancel(runID: runID, epoch: epoch)) }
                return
            }
            try transition(runID, .started, detail: "container \(container) on \(node)")
        case .log(let runID, let epoch, let offset, let data):
            try appendLog(runID: runID, epoch: epoch, offset: offset, data: data)
        case .snapshot(let runID, let epoch, let info):
            try store.logEvent(kind: "snapshot", runID: runID, epoch: epoch,
                               detail: "t=\(info.elapsedSeconds)s sha256=\(info.sha256.prefix(16)) \(info.bytes) bytes")
        case .finished(let runID, let epoch, let result):
            guard let r = try isCurrent(runID, epoch, "finished \(result.outcome.rawValue)"), r.state.hasLiveAttempt else {
                // A cancelled run's attempt ending on its node: nothing to collect, the node may clean it up.
                if let r = runs[runID], r.epoch == epoch, r.state == .cancelled { try? connections[node]?.send(.acknowledge(runID: runID, epoch: epoch)) }
                return
            }
            try flushLogBytes(runID: runID, epoch: epoch)
            // Drain first: the slot this attempt frees must not go to another run on a full node.
            if result.nodeDiskFull == true { try drain(node, reason: result.message ?? "disk full") }
            try finishAttempt(r, outcome: result.outcome, result: result, detail: result.message)
        case .file(let runID, let epoch, let name, let sha, let data):
            guard let r = try isCurrent(runID, epoch, "file \(name)"), r.state == .collecting else { return }
            if name.hasPrefix("submission/") { failpoint("artifact-copy") }
            try storeArtifact(r, name: name, sha256: sha, data: data)
        case .fileChunk(let runID, let epoch, let name, let offset, let data):
            guard let r = try isCurrent(runID, epoch, "chunk of \(name)"), r.state == .collecting, let path = artifactPath(r, name) else { return }
            try FileManager.default.createDirectory(atPath: directoryOf(path), withIntermediateDirectories: true)
            // agent.log's rest lands in the streamed copy itself; fileEnd then checks the whole file's sha256.
            if name == "agent.log" { logArtifactBytes["\(runID)#\(epoch)", default: 0] += Int64(data.count) }
            let fd = open(name == "agent.log" ? path : path + ".part", O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw IOFailure(description: "cannot write \(path).part: \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            var done = 0
            while done < data.count {
                let w = data.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, data.count - done, off_t(offset) + off_t(done)) }
                if w < 0 { if errno == EINTR { continue }; throw IOFailure(description: "writing \(path).part: \(String(cString: strerror(errno)))") }
                done += w
            }
        case .fileEnd(let runID, let epoch, let name, let sha, let bytes):
            guard let r = try isCurrent(runID, epoch, "end of \(name)"), r.state == .collecting, let path = artifactPath(r, name) else { return }
            if name == "agent.log" {
                try finishLogArtifact(r, path: path, sha256: sha, bytes: bytes, node: node)
                return
            }
            let part = path + ".part"
            guard fileSize(part) == bytes, SHA256.hex(fileAt: part) == sha else {
                unlink(part)
                try store.logEvent(kind: "artifact_corrupt", runID: r.id, epoch: r.epoch, detail: "\(name): size or sha256 differs from the node's")
                return
            }
            let fd = open(part, O_RDONLY)
            if fd >= 0 { fsync(fd); close(fd) }
            guard rename(part, path) == 0 else { throw IOFailure(description: "rename \(part): \(String(cString: strerror(errno)))") }
            try store.recordArtifact(runID: r.id, epoch: r.epoch, name: name, sha256: sha, bytes: bytes, path: path, elapsedSeconds: nil)
        case .artifactsDone(let runID, let epoch, _):
            guard let r = try isCurrent(runID, epoch, "artifacts"), r.state == .collecting else { return }
            if pendingLogRefetch.remove("\(runID)#\(epoch)") != nil { return }  // the whole log is on its way again
            try transition(runID, .collected, detail: nil)
            try gradeAndFinish(runs[runID]!)
            try? connections[node]?.send(.acknowledge(runID: runID, epoch: epoch))
        case .error(let runID, let message):
            try store.logEvent(kind: "worker_error", runID: runID, detail: "\(node): \(message)")
            if let runID, let r = runs[runID], r.state == .dispatched {
                try finishAttempt(r, outcome: .infraError, result: nil, detail: message)
            } else if let runID, let r = runs[runID], r.state == .collecting {
                printError("podium: \(r.spec.label): \(message)")
            }
        case .held(let list):
            try reconcile(node: node, held: list)
        case .welcome:
            break
        }
    }

    /// Records how an attempt ended and what follows: collection, a retry after backoff, or nothing.
    func finishAttempt(_ r: RunRecord, outcome: AttemptOutcome, result: AttemptResult?, detail: String?) throws {
        let update = result.map { StateStore.AttemptUpdate(exitCode: $0.exitCode, elapsedSeconds: $0.elapsedSeconds, message: $0.message) }
            ?? StateStore.AttemptUpdate(exitCode: nil, elapsedSeconds: nil, message: detail)
        let after = try transition(r.id, .finished(outcome), result: update, detail: detail)
        apply(scheduler.on(.released(runID: r.id)))
        switch after.state {
        case .collecting:
            requestArtifacts(after)
        case .pending:
            // A lost attempt has already waited `lost_after` and its node is out of the pool: requeue at once.
            // An infra error backs off (the same fault would likely recur right away).
            let delay = outcome == .lost ? 0 : options.retryBackoff * Double(1 << max(0, min(after.infraFailures - 1, 6)))
            retryAt.append((monotonicSeconds() + delay, r.id))
            printError("podium: \(r.spec.label) attempt \(r.epoch) \(outcome.rawValue): \(detail ?? "") — retry \(after.infraFailures)/\(maxRetries) in \(Int(delay)) s")
        case .failed:
            printError("podium: \(r.spec.label) failed after \(after.infraFailures) infra errors: \(detail ?? "")")
        default:
            break
        }
    }

    func requestArtifacts(_ r: RunRecord) {
        guard let node = r.node ?? lastNode(r), let conn = connections[node] else {
            printError("podium: \(r.spec.label): node of attempt \(r.epoch) is not connected; its artifacts wait")
            return
        }
        let streamed = logResent.contains("\(r.id)#\(r.epoch)") ? 0 : fileSize(attemptDir(r.id, r.epoch) + "/agent.log")
        try? conn.send(.fetchArtifacts(runID: r.id, epoch: r.epoch, logBytes: max(0, streamed)))
    }

    func lastNode(_ r: RunRecord) -> String? {
        (try? store.attempts(runID: r.id))?.last(where: { $0.epoch == r.epoch })?.node
    }

    // MARK: logs and artifacts

    func attemptDir(_ runID: String, _ epoch: Int) -> String { "\(artifactsRoot)/\(runID)/e\(epoch)" }

    func appendLog(runID: String, epoch: Int, offset: Int64, data: Data) throws {
        guard runs[runID]?.epoch == epoch else { return }
        let key = "\(runID)#\(epoch)"
        if logFDs[key] == nil {
            let dir = attemptDir(runID, epoch)
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let fd = open(dir + "/agent.log", O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw IOFailure(description: "cannot open \(dir)/agent.log: \(String(cString: strerror(errno)))") }
            logFDs[key] = fd
        }
        let fd = logFDs[key]!
        var done = 0
        while done < data.count {
            let w = data.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, data.count - done, off_t(offset) + off_t(done)) }
            if w < 0 { if errno == EINTR { continue }; throw IOFailure(description: "writing agent.log: \(String(cString: strerror(errno)))") }
            done += w
        }
        logBytes[key] = max(logBytes[key] ?? 0, offset + Int64(data.count))
    }

    func flushLogBytes(runID: String, epoch: Int) throws {
        let key = "\(runID)#\(epoch)"
        if let fd = logFDs.removeValue(forKey: key) { fsync(fd); close(fd) }
        if let n = logBytes[key] { try store.setLogBytes(runID: runID, epoch: epoch, bytes: n) }
    }

    /// The central agent.log after the artifact pass: streamed bytes plus the rest the node sent. It must equal the
    /// node's file; if not (a gap or a corrupt stretch), it is fetched once more whole, and a second mismatch is
    /// recorded as corrupt.
    func finishLogArtifact(_ r: RunRecord, path: String, sha256: String, bytes: Int64, node: String) throws {
        let key = "\(r.id)#\(r.epoch)"
        if fileSize(path) > bytes { _ = truncate(path, off_t(bytes)) }
        if fileSize(path) == bytes, SHA256.hex(fileAt: path) == sha256 {
            let fd = open(path, O_RDONLY)
            if fd >= 0 { fsync(fd); close(fd) }
            try store.recordArtifact(runID: r.id, epoch: r.epoch, name: "agent.log", sha256: sha256, bytes: bytes, path: path, elapsedSeconds: nil)
            let resent = logArtifactBytes.removeValue(forKey: key) ?? 0
            try store.logEvent(kind: "log_verified", runID: r.id, epoch: r.epoch,
                               detail: "\(bytes) bytes = the node's (sha256 \(sha256.prefix(16))); \(bytes - resent) streamed, \(resent) sent at collection")
            return
        }
        logArtifactBytes[key] = 0
        if logResent.insert(key).inserted {
            try store.logEvent(kind: "log_repaired", runID: r.id, epoch: r.epoch,
                               detail: "central copy (\(fileSize(path)) bytes) differs from the node's (\(bytes) bytes); fetching it whole")
            _ = truncate(path, 0)
            // The whole log comes again, before this pass's artifactsDone, so the attempt is collected only then.
            pendingLogRefetch.insert(key)
            try? connections[node]?.send(.fetchArtifacts(runID: r.id, epoch: r.epoch, logBytes: 0))
        } else {
            try store.logEvent(kind: "artifact_corrupt", runID: r.id, epoch: r.epoch, detail: "agent.log: still differs from the node's after a full fetch")
        }
    }

    func storeArtifact(_ r: RunRecord, name: String, sha256: String, data: Data) throws {
        let actual = SHA256.hex(Array(data))
        guard actual == sha256 else {
            try store.logEvent(kind: "artifact_corrupt", runID: r.id, epoch: r.epoch, detail: "\(name): sha256 \(actual) ≠ \(sha256)")
            return
        }
        guard let path = artifactPath(r, name) else { return }
        try FileManager.default.createDirectory(atPath: directoryOf(path), withIntermediateDirectories: true)
        if name == "agent.log", let streamed = FileManager.default.contents(atPath: path), SHA256.hex(Array(streamed)) != sha256 {
            try store.logEvent(kind: "log_repaired", runID: r.id, epoch: r.epoch,
                               detail: "streamed copy (\(streamed.count) bytes) differed from the node's (\(data.count) bytes); replaced")
        }
        try writeDurably(path: path, data: data)
        try store.recordArtifact(runID: r.id, epoch: r.epoch, name: name, sha256: sha256, bytes: Int64(data.count), path: path,
                                 elapsedSeconds: name.hasPrefix("snapshots/t") ? Double(name.dropFirst(11).prefix(7)) : nil)
    }

    /// Where an artifact goes centrally; nil for names that would leave the attempt directory.
    func artifactPath(_ r: RunRecord, _ name: String) -> String? {
        guard !name.isEmpty, !name.hasPrefix("/"), !name.split(separator: "/").contains("..") else { return nil }
        return attemptDir(r.id, r.epoch) + "/" + name
    }

    func writeDurably(path: String, data: Data) throws {
        try data.withUnsafeBytes { try writeFileDurably(path, $0) }
    }

    // MARK: grading

    /// Grades the final submission and every snapshot of the run's current attempt (each once), then completes it.
    func gradeAndFinish(_ r: RunRecord) throws {
        guard let competition = setup.registry.competitions[r.spec.competition] else { return }
        let artifacts = try store.artifacts(runID: r.id, epoch: r.epoch)
        let answers = setup.answersPath(r.spec.competition)
        let finalPath = attemptDir(r.id, r.epoch) + "/submission/submission.csv"
        var targets: [(name: String, path: String, isFinal: Bool, elapsed: Double?)] = [("submission/submission.csv", finalPath, true, nil)]
        for a in artifacts where a.name.hasPrefix("snapshots/") { targets.append((a.name, a.path, false, a.elapsedSeconds)) }
        let enc = ReportJSON.encoder()
        for t in targets {
            if t.isFinal { failpoint("grading") }
            var report = grading.grade(competition: competition, submissionPath: t.path, answersPath: answers)
            report.submissionPath = t.path
            let json = String(decoding: try enc.encode(report), as: UTF8.self)
            try store.recordGrade(GradeRecord(
                runID: r.id, epoch: r.epoch, artifact: t.name, isFinal: t.isFinal, elapsedSeconds: t.elapsed, score: report.score,
                submissionExists: report.submissionExists, valid: report.validSubmission, anyMedal: report.anyMedal,
                gold: report.goldMedal, silver: report.silverMedal, bronze: report.bronzeMedal,
                aboveMedian: report.aboveMedian, reportJSON: json))
            if t.isFinal {
                let medal = report.goldMedal ? "gold" : report.silverMedal ? "silver" : report.bronzeMedal ? "bronze"
                    : report.aboveMedian ? "above median" : "no medal"
                progress.note("graded \(r.spec.label): " + (report.score.map { "score \($0), \(medal)" } ?? "invalid (\(report.error ?? "?"))"))
            }
        }
        try transition(r.id, .graded, detail: nil)
    }

    // MARK: state

    @discardableResult
    func transition(_ runID: String, _ event: RunEvent, node: String? = nil, result: StateStore.AttemptUpdate? = nil,
                    detail: String?) throws -> RunRecord {
        let after = try store.apply(event, to: runID, node: node, result: result, detail: detail, maxInfraRetries: maxRetries)
        runs[runID] = after
        return after
    }

    func showProgress() {
        var counts = [RunState: Int]()
        for r in runs.values { counts[r.state, default: 0] += 1 }
        progress.update(counts: counts)
    }
}

/// A file operation of the coordinator failed (disk full, permissions): the sweep stops, the state stays consistent.
public struct IOFailure: Error, CustomStringConvertible {
    public var description: String
}

/// The GPU model placement uses for a node: the one its worker found with nvidia-smi when it reports one (runs that
/// ask for a model must not land on another because an inventory line was wrong), else the inventory's. The second
/// value says what disagreed, for the operator (an inventory's "H100" agrees with "NVIDIA H100 80GB HBM3": models
/// match as case-insensitive substrings, as profiles' `gpu_model` do).
func effectiveGPUModel(declared: String?, reported: String?) -> (String?, String?) {
    guard let reported else { return (declared, nil) }
    if let declared, !gpuModelMatches(required: declared, offered: reported) {
        return (reported, "the inventory says gpu_model '\(declared)', nvidia-smi on the node says '\(reported)'; placing by '\(reported)' — fix the inventory")
    }
    return (reported, nil)
}
