import PodiumCore
import PodiumProtocol
import PodiumScheduler
import PodiumStore

/// Every decision of the coordinator as a pure value (the SWIM-instance shape): events in with the time passed
/// alongside, directives out. It reads no clock, touches no file, socket or thread; the shell (`SweepRunner`)
/// carries out its directives and turns what happens into events, and the deterministic simulation
/// (`PodiumDST`) drives the very same value against simulated places, a simulated store and a virtual clock.
///
/// It speaks of *places* that run attempts (a node's worker over SSH or as a local child today), never of
/// connections or transports, so a second backend fits behind the same events.
public struct CoordinatorInstance: Sendable {
    /// What a place offers to placement, from the inventory.
    public struct PlaceSpec: Sendable, Equatable {
        public var name: String
        public var capacity: Resources
        public var gpuModel: String?
        /// Byte budget of the place's data cache (nil: unlimited).
        public var dataCacheBytes: Int64?
        /// Where the place's data comes from (staging is bounded per source): "push" (the coordinator), a shared
        /// path or a URL prefix.
        public var dataSource: String = "push"
        public init(name: String, capacity: Resources, gpuModel: String?, dataCacheBytes: Int64? = nil, dataSource: String = "push") {
            self.name = name; self.capacity = capacity; self.gpuModel = gpuModel; self.dataCacheBytes = dataCacheBytes
            self.dataSource = dataSource
        }
    }

    /// What a run of one hardware profile needs.
    public struct Needs: Sendable, Equatable {
        public var resources: Resources
        public var gpuModel: String?
        public init(resources: Resources, gpuModel: String?) { self.resources = resources; self.gpuModel = gpuModel }
    }

    public struct Config: Sendable {
        public var sweep: String
        public var places: [PlaceSpec]
        /// Hardware profile name → what its runs need.
        public var needs: [String: Needs]
        public var maxInfraRetries: Int = 3
        /// Seconds before an infra-failed run is retried (doubling with each failure, up to 64×).
        public var retryBackoff: Double = 5
        /// Seconds before a run a node refused as busy is placed again (no retry is spent).
        public var busyBackoff: Double = 2
        /// How long a place may stay unreachable before its attempts are requeued elsewhere.
        public var lostAfter: Double = 600
        /// Reconnection backoff: first delay and ceiling, doubling in between.
        public var reconnectInitial: Double = 2
        public var reconnectMax: Double = 60
        /// How often operator requests are read from the state.
        public var requestPollInterval: Double = 1
        public var policy: SchedulingPolicy = .firstAttemptsThenLongest
        /// Competition → bytes of its public data, when places hold data lazily (issue 18): placement then prefers
        /// places that hold a run's data. Empty: every place holds everything (staged up front), locality is moot.
        public var dataBytes: [String: Int64] = [:]
        /// Staging jobs at once on one place, and from one source (the coordinator's own pushes share its uplink).
        public var maxStagesPerPlace = 2
        public var maxStagesPerSource = 4
        /// Staging failures of one competition on one place before placement stops sending it there this run.
        public var maxStageFailures = 3
        public init(sweep: String, places: [PlaceSpec], needs: [String: Needs]) {
            self.sweep = sweep; self.places = places; self.needs = needs
        }
    }

    /// What the durable state held when this instance was made (a fresh start or a restart after a crash).
    public struct Recovered: Sendable {
        public var runs: [RunRecord]
        /// Place of each run's current attempt (the state keeps it per attempt).
        public var attemptPlaces: [String: String] = [:]
        /// Bytes of each live or collecting attempt's central agent.log.
        public var logBytes: [AttemptKey: Int64] = [:]
        /// Stored artifacts and already graded ones, of the attempts being or already graded.
        public var artifacts: [AttemptKey: [StoredArtifact]] = [:]
        public var graded: [AttemptKey: Set<String>] = [:]
        /// Place → competition → bytes its data cache holds (or partly holds), as the state recorded it.
        public var dataHeld: [String: [String: Int64]] = [:]
        public init(runs: [RunRecord]) { self.runs = runs }
    }

    /// A place's connection as the instance sees it.
    struct PlaceState: Sendable {
        var spec: PlaceSpec
        /// Generation of the open connection; nil while none is open.
        var generation: Int?
        /// The open connection's `.held` list was matched with the state; only then does placement use the place.
        var reconciled = false
        var offer: PlaceOffer?
        var connecting = false
        var downSince: Double?
        var reconnectAt: Double?
        var reconnectDelay: Double
        var everTried = false
        /// `lost_after` has passed for this absence and its attempts were requeued.
        var lostDeclared = false
        /// The node's load as its daemon last pushed it (shared nodes: what other sweeps hold, what is free to us).
        var load: NodeLoad?
        /// The waiting count last told to the daemon on this connection.
        var demandSent: Int?
        var connected: Bool { generation != nil }
    }

    /// Collection of one finished attempt's artifacts.
    struct Collection: Sendable {
        /// Checks handed to the storage and not answered yet.
        var pendingChecks = 0
        var passDone = false
        /// The central log differed from the node's: refetch it whole once the pass is over.
        var logMismatch = false
        /// Bytes of agent.log that came with this pass rather than by streaming.
        var logSentNow: Int64 = 0
        /// The place came back while checks of an earlier pass were still out: ask again once they are answered.
        var askAgain = false
    }

    public let config: Config
    public internal(set) var runs: [String: RunRecord] = [:]
    var attemptPlace: [String: String]
    /// Runs whose current attempt went to each place (reconciliation and `lost_after` look at a place's runs, not all).
    var placeRuns: [String: Set<String>] = [:]
    public internal(set) var scheduler: Scheduler
    var retryAt: [(at: Double, runID: String)] = []
    var places: [String: PlaceState] = [:]
    var placeOrder: [String]
    public internal(set) var drained = Set<String>()
    /// Places whose connection is not open (their timers are the only ones besides retries and the poll).
    var down = Set<String>()
    var logBytes: [AttemptKey: Int64]
    var collections: [AttemptKey: Collection] = [:]
    /// Attempts whose log is being (or was) fetched whole again.
    var logResent = Set<AttemptKey>()
    var artifacts: [AttemptKey: [StoredArtifact]]
    var gradedArtifacts: [AttemptKey: Set<String>]
    /// Grade jobs handed out and not answered.
    public internal(set) var gradesOutstanding = Set<GradeJob>()
    var lastPoll = -Double.infinity
    var pollInFlight = false
    var initialFailures: [String] = []
    var startupOpen = true
    public internal(set) var interrupted = false
    var out: [CoordinatorDirective] = []
    /// Lazy data (issue 18), see Instance+Data.swift.
    var data = DataState()

    public init(config: Config, recovered: Recovered) {
        self.config = config
        for r in recovered.runs { runs[r.id] = r; counts[r.state, default: 0] += 1 }
        attemptPlace = recovered.attemptPlaces
        for (run, place) in recovered.attemptPlaces { placeRuns[place, default: []].insert(run) }
        logBytes = recovered.logBytes
        artifacts = recovered.artifacts
        gradedArtifacts = recovered.graded
        scheduler = Scheduler(policy: config.policy)
        placeOrder = config.places.map(\.name)
        for p in config.places { places[p.name] = PlaceState(spec: p, reconnectDelay: config.reconnectInitial) }
        down = Set(placeOrder)
        // With lazy data, placement shares the competitions out over every place of the inventory: known from the start
        // (taking no work until they answer), so the first place up does not take every competition's data.
        if !config.dataBytes.isEmpty {
            // Nothing is queued yet (`start` enqueues), so these events cannot place anything.
            for p in config.places {
                precondition(scheduler.on(.nodeKnown(name: p.name, capacity: p.capacity, gpuModel: p.gpuModel)).isEmpty)
                precondition(scheduler.on(.dataCache(node: p.name, maxBytes: p.dataCacheBytes)).isEmpty)
            }
            for (place, held) in recovered.dataHeld where places[place] != nil {
                for (competition, bytes) in held.sorted(by: { $0.key < $1.key }) {
                    precondition(scheduler.on(.holds(node: place, competition: competition, bytes: bytes)).isEmpty)
                    data.onDisk[place, default: [:]][competition] = bytes
                }
            }
        }
    }

    // MARK: queries

    /// Every run terminal, every grade recorded, every place tried (and matched with the state when it answered; a
    /// resumed sweep with nothing left still stages, reconciles and cleans up its places): the sweep is over.
    public var isDone: Bool {
        gradesOutstanding.isEmpty && collections.isEmpty && terminalCount == runs.count && data.active.isEmpty
            && places.values.allSatisfy { $0.everTried && !$0.connecting && (!$0.connected || $0.reconciled) }
    }

    /// Runs by state (kept as transitions happen: the shell redraws progress after every event).
    public private(set) var counts: [RunState: Int] = [:]
    var terminalCount: Int { RunState.allCases.filter(\.isTerminal).reduce(0) { $0 + (counts[$1] ?? 0) } }

    /// Places with an open connection.
    public var connectedPlaces: [String] { placeOrder.filter { places[$0]?.connected == true } }

    /// Live attempts (dispatched or running), for the detach message.
    public var liveCount: Int { runs.values.filter { $0.state.hasLiveAttempt }.count }

    /// When the next timer falls due (the shell may sleep until then); nil when nothing waits on time.
    public func nextDeadline() -> Double? {
        var t: Double? = min(retryAt.map(\.at).min() ?? .infinity, lastPoll + config.requestPollInterval)
        for name in down {
            guard let p = places[name] else { continue }
            if let at = p.reconnectAt, !p.connecting { t = min(t ?? at, at) }
            if let since = p.downSince, !p.lostDeclared { t = min(t ?? .infinity, since + config.lostAfter) }
        }
        return t
    }

    // MARK: start

    /// The first directives: connect every place, queue the pending runs, grade what a crash left ungraded.
    public mutating func start(now: Double) -> [CoordinatorDirective] {
        // Runs that waited for data when the coordinator stopped wait again from the start (no attempt existed).
        for r in runs.values.filter({ $0.state == .staging }).sorted(by: { $0.sequence < $1.sequence }) {
            transition(r.id, .unstage, detail: "the coordinator restarted before its data on \(r.node ?? "?") was ready")
        }
        let pending = runs.values.filter { $0.state == .pending }.sorted { $0.sequence < $1.sequence }
        schedule(.enqueue(pending.map(queued)), now: now)
        for name in placeOrder { connect(name) }
        for r in runs.values.filter({ $0.state == .grading || $0.state == .completed }).sorted(by: { $0.sequence < $1.sequence }) {
            gradeAttempt(r, finalToo: r.state == .grading)
        }
        poll(now: now)
        return flush()
    }

    // MARK: events

    public mutating func on(_ event: CoordinatorEvent, now: Double) -> [CoordinatorDirective] {
        switch event {
        case .tick:
            tick(now: now)
        case .placeConnected(let place, let generation, let offer):
            placeConnected(place, generation: generation, offer: offer, now: now)
        case .placeUnreachable(let place, let generation, let reason):
            placeUnreachable(place, generation: generation, reason: reason, now: now)
        case .placeRefused(let place, let reason):
            placeUnreachable(place, generation: nil, reason: reason, now: now)
            drain(place, reason: "its SSH connection was refused in a way that needs a person (\(reason))",
                  remedy: "check the node (see the reason), then run the sweep again", now: now)
        case .reply(let place, let reply):
            handle(reply, from: place, now: now)
        case .startFailed(let key, let reason):
            if let r = runs[key.runID], r.epoch == key.epoch, r.state == .dispatched {
                finishAttempt(r, outcome: .infraError, result: nil, detail: "could not send the start request: \(reason)", now: now)
            }
        case .storageChecked(let key, let check):
            storageChecked(key, check, now: now)
        case .graded(let job, let record, let summary):
            graded(job, record, summary: summary, now: now)
        case .validated(let job, let verdict):
            out.append(.recordValidation(job.key, bytes: job.data.count, verdict: verdict))
            out.append(.send(place: job.place, .validationResult(
                requestID: job.requestID, result: verdict.valid == nil ? nil : verdict.message,
                error: verdict.valid == nil ? verdict.message : nil, status: verdict.status)))
        case .operatorRequests(let requests):
            pollInFlight = false
            handleRequests(requests, now: now)
        case .dataStaged(let job, let outcome):
            dataStaged(job, outcome, now: now)
        case .interrupt(let sig):
            if !interrupted {
                interrupted = true
                out.append(.warn("\npodium: received signal \(sig); detaching. \(liveCount) attempt(s) keep running on their nodes; run the same command again to resume."))
            }
        }
        return flush()
    }

    mutating func flush() -> [CoordinatorDirective] {
        tellDemand()
        defer { out.removeAll(keepingCapacity: true) }
        return out
    }

    /// Timers: places silent past `lost_after`, reconnections and retries due, the operator poll.
    mutating func tick(now: Double) {
        tendPlaces(now: now)
        let due = retryAt.filter { $0.at <= now }
        if !due.isEmpty {
            retryAt.removeAll { $0.at <= now }
            schedule(.enqueue(due.compactMap { runs[$0.runID] }.filter { $0.state == .pending }.map(queued)), now: now)
        }
        if now - lastPoll >= config.requestPollInterval { poll(now: now) }
    }

    mutating func poll(now: Double) {
        guard !pollInFlight else { return }
        lastPoll = now
        pollInFlight = true
        out.append(.pollRequests)
    }

    // MARK: runs

    func queued(_ r: RunRecord) -> QueuedRun {
        let n = config.needs[r.spec.profile]
        return QueuedRun(id: r.id, competition: r.spec.competition, attempt: r.spec.attempt, budgetSeconds: r.spec.budget.seconds,
                         needs: n?.resources ?? Resources(gpus: 0, cpus: 1, memoryBytes: 1 << 30), sequence: r.sequence,
                         gpuModel: n?.gpuModel, dataBytes: config.dataBytes[r.spec.competition] ?? 0)
    }

    /// Applies a transition through the pure state machine and emits it to be made durable first. An illegal one is
    /// a bug: the shell stops (`.abort`) rather than act on a state it cannot record.
    @discardableResult
    mutating func transition(_ runID: String, _ event: RunEvent, place: String? = nil, result: StateStore.AttemptUpdate? = nil,
                             detail: String?) -> RunRecord? {
        guard var r = runs[runID] else { return nil }
        var machine = RunLifecycle(state: r.state, epoch: r.epoch, infraFailures: r.infraFailures, maxInfraRetries: config.maxInfraRetries)
        do { try machine.apply(event) } catch {
            out.append(.abort("internal error: \(error) for run \(runID)"))
            return nil
        }
        switch event {
        case .dispatch, .stage: r.node = place
        default: if !machine.state.holdsNode { r.node = nil }
        }
        counts[r.state, default: 0] -= 1
        counts[machine.state, default: 0] += 1
        r.state = machine.state
        r.epoch = machine.epoch
        r.infraFailures = machine.infraFailures
        runs[runID] = r
        out.append(.persist(runID: runID, event, place: place, result: result, detail: detail))
        return r
    }

    /// The runs whose current attempt went to `place` and that match, in sweep order.
    func runs(on place: String, where matches: (RunRecord) -> Bool) -> [RunRecord] {
        (placeRuns[place] ?? []).compactMap { runs[$0] }.filter(matches).sorted { $0.sequence < $1.sequence }
    }

    /// Hands the scheduler an event and carries out the placements it answers with. Every scheduler event may place
    /// (a node going down lets a run whose data holders are all down be copied elsewhere; dropped data frees cache
    /// room): a placement not carried out is a run the scheduler holds resources for and the instance never starts.
    mutating func schedule(_ event: SchedulerEvent, now: Double) {
        place(scheduler.on(event), now: now)
    }

    /// Carries out the scheduler's placements: each dispatch is durable (a new epoch) before its start request goes out.
    mutating func place(_ directives: [SchedulerDirective], now: Double) {
        for case .place(let runID, let placeName) in directives {
            guard let r = runs[runID], r.state == .pending else { continue }
            if needsStaging(r, on: placeName) {
                waitForData(r, on: placeName)
                continue
            }
            dispatch(r, to: placeName)
        }
    }

    /// A new attempt of the run on the place: durable (with its epoch) before the start request goes out.
    mutating func dispatch(_ r: RunRecord, to placeName: String) {
        let epoch = r.epoch + 1
        guard transition(r.id, .dispatch(epoch: epoch), place: placeName, detail: "to \(placeName)") != nil else { return }
        if let old = attemptPlace[r.id] { placeRuns[old]?.remove(r.id) }
        attemptPlace[r.id] = placeName
        placeRuns[placeName, default: []].insert(r.id)
        out.append(.start(AttemptKey(r.id, epoch), place: placeName))
    }

    /// Records how an attempt ended and what follows: collection, a retry after backoff, or nothing.
    mutating func finishAttempt(_ r: RunRecord, outcome: AttemptOutcome, result: AttemptResult?, detail: String?, now: Double) {
        let update = result.map { StateStore.AttemptUpdate(exitCode: $0.exitCode, elapsedSeconds: $0.elapsedSeconds, message: $0.message,
                                                           imageDigest: $0.imageDigest, gpuModel: $0.gpuModel, gpuIDs: $0.gpus) }
            ?? StateStore.AttemptUpdate(exitCode: nil, elapsedSeconds: nil, message: detail)
        guard let after = transition(r.id, .finished(outcome), result: update, detail: detail) else { return }
        schedule(.released(runID: r.id), now: now)
        let key = AttemptKey(r.id, r.epoch)
        switch after.state {
        case .collecting:
            collections[key] = Collection()
            requestArtifacts(after)
        case .pending where outcome == .nodeBusy:
            collections[key] = nil
            retryAt.append((now + config.busyBackoff, r.id))
        case .pending:
            collections[key] = nil
            // A lost attempt has already waited `lost_after` and its place is out of the pool: requeue at once.
            // An infra error backs off (the same fault would likely recur right away).
            let delay = outcome == .lost ? 0 : config.retryBackoff * Double(1 << max(0, min(after.infraFailures - 1, 6)))
            retryAt.append((now + delay, r.id))
            out.append(.warn("podium: \(r.spec.label) attempt \(r.epoch) \(outcome.rawValue): \(detail ?? "") — retry \(after.infraFailures)/\(config.maxInfraRetries) in \(Int(delay)) s"))
        case .failed:
            collections[key] = nil
            out.append(.warn("podium: \(r.spec.label) failed after \(after.infraFailures) infra errors: \(detail ?? "")"))
        default:
            collections[key] = nil
        }
    }
}
