#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodiumCoordinator
import PodiumCore
import PodiumProtocol
import PodiumScheduler
import PodiumStore

/// Deterministic simulation of the whole coordinator (the way FoundationDB tests itself): the real
/// `CoordinatorInstance` — and through it the real `Scheduler` and run state machine — driven against simulated
/// places (a model of `podium-worker`'s protocol), a simulated durable store and a virtual clock, under a fault
/// schedule drawn from one seed. After every step the invariants are checked; a seed replays exactly.
public final class Simulation {
    public struct Options: Sendable {
        public var seed: UInt64
        /// Faults happen in [0, faultWindow) of virtual time; then the world heals (dead places stay dead).
        public var faultWindow: Double = 12 * 3600
        /// Virtual time by which every run must be terminal.
        public var deadline: Double = 400 * 3600
        public var maxSteps = 2_000_000
        /// Print every directive and fault (for a replayed seed).
        public var verbose = false
        public init(seed: UInt64) { self.seed = seed }
    }

    /// A sweep to simulate as it would run (`podium simulate`): these places and runs, attempts as long as a fraction
    /// of their budget, node failures and infra errors at the given rates; no other faults, no logs or snapshots.
    public struct Workload: Sendable {
        public var places: [CoordinatorInstance.PlaceSpec]
        public var runs: [RunSpec]
        public var needs: [String: CoordinatorInstance.Needs]
        public var policy: SchedulingPolicy
        public var lostAfter: Double
        public var maxInfraRetries: Int
        /// Attempts use a uniform fraction of their budget between this and 1 (1: the whole budget).
        public var earlyFinishMin: Double = 1
        /// Probability that an attempt dies of an infra error, at a uniform point of its run.
        public var infraErrorRate: Double = 0
        /// Mean hours between failures of one place (0: none); a failed place loses its attempts and is away `repairHours`.
        public var nodeMTBFHours: Double = 0
        public var repairHours: Double = 2
        /// Data staging (issue 18): competition → bytes of its public data. A place that lacks a run's data copies it
        /// (one copy at a time, at `nodeBandwidth` bytes/s) before the attempt starts, and keeps it in a cache of the
        /// place's `dataCacheBytes`, least recently used data evicted when no attempt uses it. Empty: data is there.
        public var dataBytes: [String: Int64] = [:]
        public var nodeBandwidth: Double = 100e6
        public init(places: [CoordinatorInstance.PlaceSpec], runs: [RunSpec], needs: [String: CoordinatorInstance.Needs],
                    policy: SchedulingPolicy, lostAfter: Double, maxInfraRetries: Int) {
            self.places = places; self.runs = runs; self.needs = needs; self.policy = policy
            self.lostAfter = lostAfter; self.maxInfraRetries = maxInfraRetries
        }
    }

    public struct Result: Sendable {
        public var seed: UInt64
        public var steps: Int
        public var virtualHours: Double
        public var runs: Int
        public var places: Int
        public var attempts: Int
        public var crashes: Int
        public var faults: Int
        public var violations: [String]
        /// When the last run became terminal.
        public var makespanHours: Double = 0
        /// GPU-seconds attempts held, and scheduler decisions (of the coordinator's last life).
        public var busyGPUSeconds: Double = 0
        public var decisions = 0
        /// Hours at which each run became terminal.
        public var finishedAt: [String: Double] = [:]
        public var completed = 0
        /// Bytes copied onto places, and the hours places spent copying (summed over places).
        public var bytesStaged: Int64 = 0
        public var stagingHours: Double = 0
    }

    struct Attempt {
        var key: AttemptKey
        var running = true
        var endAt: Double
        var budget: Double
        var startedAt: Double
        var planned: AttemptOutcome
        var diskFull = false
        var logBytes: Int64 = 0
        var followerPos: Int64 = 0
        var submission: Data?
        var snapshots: [(name: String, data: Data, at: Double)] = []
        var result: AttemptResult?
        var gpus: Int
        /// The competition whose cached data the attempt uses (workload with staging).
        var data: String?
    }

    struct Place {
        var name: String
        var gpus: Int
        var conn: Int?
        var unreachableUntil = 0.0
        var dead = false
        var attempts: [AttemptKey: Attempt] = [:]
        var seenEpoch: [String: Int] = [:]
        var connectedSince: Double?
        var usedGPUs: Int { attempts.values.filter(\.running).reduce(0) { $0 + $1.gpus } }
        /// The data cache (workload with `dataBytes`): competition → bytes, last use, attempts using it, ready time.
        var cache: [String: CachedData] = [:]
        var cacheUsed: Int64 = 0
        var cacheBudget: Int64?
        /// When the place's one copy stream is free.
        var stagingFreeAt = 0.0
    }

    struct CachedData {
        var bytes: Int64
        var lastUse: Double
        var users: Int
        var readyAt: Double
    }

    enum Event {
        /// To the coordinator (dropped when it crashed since: `incarnation`).
        case coordinator(CoordinatorEvent, incarnation: Int)
        case request(place: String, conn: Int, Request)
        case connectDone(place: String, incarnation: Int)
        case grow(place: String, AttemptKey)
        case end(place: String, AttemptKey)
        case tick(incarnation: Int)
        case fault(Fault)
        case restart
    }

    enum Fault {
        case disconnect(String), partition(String, Double), daemonRestart(String), reboot(String), death(String)
        case fail(String, Double)
        case crash, persistFailure, cancel(String), retry(String), damageLog
        case restartIfDrained
    }

    let options: Options
    let workload: Workload?
    var rng: SeededRandom
    var busyGPUSeconds = 0.0
    var bytesStaged: Int64 = 0
    var stagingSeconds = 0.0
    var decisions = 0
    var faultWindow = 0.0
    var config: CoordinatorInstance.Config
    var queue = TimedQueue<Event>()
    var now = 0.0
    var store = SimStore()
    var instance: CoordinatorInstance?
    var incarnation = 0
    var places: [String: Place] = [:]
    var placeNames: [String] = []
    var coordConn: [String: Int] = [:]
    var generation = 0
    /// Per connection and direction: when its last message arrives (TCP keeps order).
    var upArrival: [Int: Double] = [:]
    var downArrival: [Int: Double] = [:]
    var tickAt: Double?
    var followUps: [CoordinatorEvent] = []
    var persistFailArmed = false
    var requestSeq: Int64 = 0
    var specs: [String: RunSpec] = [:]
    var checker = Invariants()
    /// Grade jobs handed out and not answered, by attempt and artifact (of the coordinator now running).
    var grading: [AttemptKey: Set<String>] = [:]
    /// Validations simulated agents asked for (request id → the place and attempt), and those answered.
    var validationsAsked: [UInt64: (place: String, key: AttemptKey)] = [:]
    var validationsAnswered = Set<UInt64>()
    var nextValidationID: UInt64 = 0
    var steps = 0, crashes = 0, faults = 0

    /// A sweep as it would run on these places, with the real instance; no invariant checks between steps (the
    /// end is still checked).
    public init(options: Options, workload: Workload) {
        self.options = options
        self.workload = workload
        rng = SeededRandom(seed: options.seed)
        for p in workload.places {
            places[p.name] = Place(name: p.name, gpus: p.capacity.gpus)
            places[p.name]!.cacheBudget = p.dataCacheBytes
            placeNames.append(p.name)
        }
        config = CoordinatorInstance.Config(sweep: "simulate", places: workload.places, needs: workload.needs)
        config.dataBytes = workload.dataBytes
        // The model gives each place its own copy stream at `nodeBandwidth`: no shared source limits it.
        config.maxStagesPerSource = max(config.maxStagesPerSource, workload.places.count * config.maxStagesPerPlace)
        config.maxInfraRetries = workload.maxInfraRetries
        config.lostAfter = workload.lostAfter
        config.requestPollInterval = 3600
        config.policy = workload.policy
        for (i, spec) in workload.runs.enumerated() {
            store.runs[spec.id] = RunRecord(spec: spec, sequence: i, state: .pending, epoch: 0, infraFailures: 0, node: nil)
            store.order.append(spec.id)
            specs[spec.id] = spec
        }
        faultWindow = options.deadline
    }

    public init(options: Options) {
        self.options = options
        workload = nil
        rng = SeededRandom(seed: options.seed)
        let placeCount = rng.int(2...4)
        var specs = [CoordinatorInstance.PlaceSpec]()
        for i in 0..<placeCount {
            let gpus = rng.int(1...4)
            let name = "p\(i)"
            places[name] = Place(name: name, gpus: gpus)
            placeNames.append(name)
            specs.append(.init(name: name, capacity: Resources(gpus: gpus, cpus: 64, memoryBytes: 1 << 40), gpuModel: nil))
        }
        let one = Resources(gpus: 1, cpus: 4, memoryBytes: 16 << 30)
        config = CoordinatorInstance.Config(sweep: "dst", places: specs, needs: ["gpu": .init(resources: one, gpuModel: nil)])
        config.maxInfraRetries = 3
        config.retryBackoff = 5
        config.lostAfter = 600
        config.requestPollInterval = 30
        let competitions = (0..<rng.int(2...4)).map { "c\($0)" }
        // Half the seeds stage data lazily into caches too small for every competition (eviction, staging failures,
        // runs waiting in `staging` while places come and go and the coordinator crashes).
        if rng.chance(0.5) {
            for c in competitions { config.dataBytes[c] = Int64(rng.int(1...40)) * 1_000_000_000 }
            let largest = config.dataBytes.values.max() ?? 0
            for i in config.places.indices {
                let budget = Int64(Double(largest) * rng.uniform(1, 1.6))
                config.places[i].dataCacheBytes = budget
                places[config.places[i].name]!.cacheBudget = budget
            }
        }
        let budgets = rng.chance(0.5) ? [BudgetDuration(seconds: 3600)] : [BudgetDuration(seconds: 3600), BudgetDuration(seconds: 4 * 3600)]
        let grid = expandGrid(sweep: "dst", agent: "sim", competitions: competitions, budgets: budgets, profiles: ["gpu"],
                              attempts: rng.int(1...3))
        // Faults fall while the sweep is under way: within about its makespan on these places.
        let gpuHours = grid.reduce(0.0) { $0 + $1.budget.hours }
        let gpus = Double(specs.reduce(0) { $0 + $1.capacity.gpus })
        faultWindow = min(options.faultWindow, 3600 * (gpuHours / gpus + budgets.map(\.hours).max()!))
        for (i, spec) in grid.enumerated() {
            store.runs[spec.id] = RunRecord(spec: spec, sequence: i, state: .pending, epoch: 0, infraFailures: 0, node: nil)
            store.order.append(spec.id)
            self.specs[spec.id] = spec
        }
    }

    // MARK: driving

    public func run() -> Result {
        if workload == nil { scheduleFaults() } else { scheduleFailures() }
        boot()
        var lastTerminal = 0.0
        while let (at, event) = queue.pop() {
            guard steps < options.maxSteps, at <= min(options.deadline, faultWindow + 48 * 3600) else { break }
            now = at
            steps += 1
            handle(event)
            if workload == nil { checker.check(self) }
            if !checker.violations.isEmpty { break }
            if store.terminal == store.order.count {
                if lastTerminal == 0 { lastTerminal = now }
                if let i = instance, i.isDone { break }
            } else {
                lastTerminal = 0
            }
        }
        if checker.violations.isEmpty { checker.checkEnd(self) }  // after a violation the run stops early: not a lost run
        if options.verbose, !checker.violations.isEmpty, let i = instance { logSchedulerView(i) }
        var r = Result(seed: options.seed, steps: steps, virtualHours: now / 3600, runs: store.runs.count, places: places.count,
                       attempts: store.attemptPlace.count, crashes: crashes, faults: faults, violations: checker.violations)
        r.makespanHours = (lastTerminal > 0 ? lastTerminal : now) / 3600
        r.busyGPUSeconds = busyGPUSeconds
        r.decisions = decisions + (instance?.scheduler.decisions ?? 0)
        r.finishedAt = store.finishedAt.mapValues { $0 / 3600 }
        r.completed = store.runs.values.filter { $0.state == .completed }.count
        r.bytesStaged = bytesStaged
        r.stagingHours = stagingSeconds / 3600
        return r
    }

    /// A coordinator starts (first time or after a crash): rebuilt from the durable state alone.
    func boot() {
        var i = CoordinatorInstance(config: config, recovered: store.recovered())
        let ds = i.start(now: now)
        instance = i
        carryOut(ds)
    }

    func crash(_ why: String) {
        guard instance != nil else { return }
        log("CRASH (\(why))")
        crashes += 1
        decisions += instance?.scheduler.decisions ?? 0
        instance = nil
        incarnation += 1
        tickAt = nil
        grading.removeAll()
        followUps.removeAll()
        for name in placeNames where places[name]!.conn != nil { closeConnection(name, notify: false) }
        coordConn.removeAll()
        queue.push(.restart, at: now + rng.uniform(1, 120))
    }

    func handle(_ event: Event) {
        switch event {
        case .coordinator(let e, let inc):
            guard inc == incarnation, instance != nil else { return }
            if case .placeConnected(let p, let g, _) = e { coordConn[p] = g; places[p]?.connectedSince = now }
            if case .placeUnreachable(let p, let g?, _) = e, coordConn[p] == g { coordConn[p] = nil; places[p]?.connectedSince = nil }
            if case .graded(let job, _, _) = e { grading[job.key]?.remove(job.artifact) }
            feed(e)
        case .tick(let inc):
            guard inc == incarnation, instance != nil, tickAt == now else { return }
            tickAt = nil
            feed(.tick)
        case .request(let place, let conn, let request):
            guard places[place]?.conn == conn else { return }
            nodeHandle(request, at: place)
        case .connectDone(let place, let inc):
            guard inc == incarnation, instance != nil else { return }
            connectDone(place)
        case .grow(let place, let key):
            grow(place, key)
        case .end(let place, let key):
            end(place, key, outcome: nil)
        case .fault(let f):
            inject(f)
        case .restart:
            if instance == nil { boot() }
        }
    }

    /// One event into the instance, its directives carried out, then the answers directives got at once.
    func feed(_ e: CoordinatorEvent) {
        guard instance != nil else { return }
        let ds = instance!.on(e, now: now)  // in place: a copy out of the optional would copy every run on each event
        carryOut(ds)
    }

    func carryOut(_ ds: [CoordinatorDirective]) {
        for d in ds {
            guard instance != nil else { return }
            execute(d)
        }
        while instance != nil, !followUps.isEmpty { feed(followUps.removeFirst()) }
        scheduleTick()
    }

    func scheduleTick() {
        guard let i = instance, let due = i.nextDeadline() else { return }
        let at = max(due, now + 0.001)
        if tickAt == nil || at < tickAt! {
            tickAt = at
            queue.push(.tick(incarnation: incarnation), at: at)
        }
    }

    /// Sends to the coordinator over a place's connection (in order behind what that connection already carries).
    func up(_ e: CoordinatorEvent, conn: Int?) {
        var at = now + rng.uniform(0.001, 0.2)
        if let conn { at = max(at, (upArrival[conn] ?? 0) + 0.0001); upArrival[conn] = at }
        queue.push(.coordinator(e, incarnation: incarnation), at: at)
    }

    /// An answer from work off the loop (storage, grading), after its own delay.
    func later(_ e: CoordinatorEvent, after: Double) {
        queue.push(.coordinator(e, incarnation: incarnation), at: now + after)
    }

    /// The scheduler's view at the end of a failing replay: what each place holds and uses, and who waits.
    func logSchedulerView(_ i: CoordinatorInstance) {
        for n in i.scheduler.nodes {
            let cache = n.cache.sorted { $0.key < $1.key }.map { "\($0.key)(\($0.value.bytes / 1_000_000_000) GB, users \($0.value.users))" }
            log("SCHEDULER \(n.name): online \(n.online), used \(n.used.gpus)/\(n.capacity.gpus) GPUs, cache \(n.cacheUsed / 1_000_000_000)/\((n.cacheBudget ?? 0) / 1_000_000_000) GB: \(cache.joined(separator: ", "))")
        }
        for (id, p) in i.scheduler.placed.sorted(by: { $0.key < $1.key }) {
            log("SCHEDULER placed \(id) on \(p.node) (data \(p.data ?? "-")), run \(i.runs[id]?.state.rawValue ?? "?")")
        }
        for r in i.scheduler.waiting { log("SCHEDULER waiting \(r.id) \(r.competition) attempt \(r.attempt)") }
    }

    /// A line of a replay (`--verbose`); not even made otherwise.
    func log(_ s: @autoclosure () -> String) {
        if options.verbose { print("t=\((now * 1000).rounded() / 1000)  " + s()) }
    }
}

extension Simulation.Workload {
    /// A sweep on its own inventory: each node's GPUs, CPUs, memory and data cache, each run its profile's needs.
    /// `dataBytes` (competition → bytes) turns on lazy staging; empty: every node holds every dataset.
    public static func inventory(_ setup: SweepSetup, policy: SchedulingPolicy, dataBytes: [String: Int64] = [:]) -> Simulation.Workload {
        let places = setup.inventory.nodes.map {
            CoordinatorInstance.PlaceSpec(name: $0.name, capacity: Resources($0), gpuModel: $0.gpuModel, dataCacheBytes: $0.dataCache?.maxBytes)
        }
        var w = Simulation.Workload(places: places, runs: setup.runs,
                                    needs: setup.profilesByName.mapValues { .init(resources: Resources($0), gpuModel: $0.gpuModel) },
                                    policy: policy, lostAfter: Double(setup.config.lostAfter.seconds), maxInfraRetries: setup.config.maxInfraRetries)
        w.dataBytes = dataBytes
        return w
    }

    /// The sweep's competitions' dataset sizes when its inventory stages lazily (some node declares a data_cache).
    public static func lazyDataBytes(_ setup: SweepSetup) -> [String: Int64] {
        guard setup.inventory.nodes.contains(where: { $0.dataCache != nil }) else { return [:] }
        let ids = Set(setup.competitions.map(\.id))
        return CompetitionRegistry.datasetBytes(mlebenchDir: setup.config.mlebenchDir).filter { ids.contains($0.key) }
    }
}
