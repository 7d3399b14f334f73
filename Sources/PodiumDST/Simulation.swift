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
        /// Coordinators (sweeps, each with its own durable state and grid) sharing the same places (issue 27): each
        /// crashes and restarts under the faults; 1 is the single-sweep simulation.
        public var coordinators = 1
        /// Swarm mode: each seed draws its own fault mix (a kind left out, or three times as many), so rare
        /// combinations get tried.
        public var swarm = false
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
        public var coordinators = 1
        /// With several coordinators: the largest deviation of a sweep's share of contended GPU-seconds from its
        /// entitlement, and the contended place-hours it was measured over.
        public var fairnessDeviation: Double = 0
        public var contendedHours: Double = 0
        /// How often each kind of event, directive and fault happened ("event.reply", "directive.persist", "fault.crash").
        public var kinds: [String: Int] = [:]
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
        /// The open connection of each coordinator (by index) to the place's daemon.
        var conns: [Int: Int] = [:]
        /// The daemon's ledger across the sweeps (the real one's code).
        var ledger: NodeLedger
        /// The load each coordinator was last told.
        var lastLoad: [Int: NodeLoad] = [:]
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
        init(name: String, gpus: Int) {
            self.name = name; self.gpus = gpus
            ledger = NodeLedger(capacity: ResourceAmount(gpus: gpus, cpus: 64, memoryBytes: 1 << 40, diskBytes: ResourceAmount.unlimitedDisk))
        }
    }

    enum Event {
        /// To coordinator `c` (dropped when it crashed since: `incarnation`).
        case coordinator(CoordinatorEvent, incarnation: Int, c: Int)
        case request(place: String, conn: Int, Request)
        case connectDone(place: String, incarnation: Int, c: Int)
        case grow(place: String, AttemptKey)
        case end(place: String, AttemptKey)
        case tick(incarnation: Int, c: Int)
        /// A coordinator's fault (crash, failed commit, operator request, damaged log) befalls coordinator `c`.
        case fault(Fault, c: Int)
        case restart(c: Int)
        /// The daemon's once-a-second look at its loads (fair share's hold on freed room ends with time).
        case pushLoads(place: String)
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
    var queue = TimedQueue<Event>()
    var now = 0.0
    /// The coordinators, and the one the event being handled concerns: `store`, `instance` and the rest below are its.
    var sweeps: [Sweep] = []
    var cur = 0
    /// Which coordinator each run and each connection belongs to.
    var runOwner: [String: Int] = [:]
    var connOwner: [Int: Int] = [:]
    var places: [String: Place] = [:]
    var placeNames: [String] = []
    var generation = 0
    /// Per connection and direction: when its last message arrives (TCP keeps order).
    var upArrival: [Int: Double] = [:]
    var downArrival: [Int: Double] = [:]
    var checker = Invariants()
    var kinds: [String: Int] = [:]
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
        var config = CoordinatorInstance.Config(sweep: "simulate", places: workload.places, needs: workload.needs)
        config.dataBytes = workload.dataBytes
        // The model gives each place its own copy stream at `nodeBandwidth`: no shared source limits it.
        config.maxStagesPerSource = max(config.maxStagesPerSource, workload.places.count * config.maxStagesPerPlace)
        config.maxInfraRetries = workload.maxInfraRetries
        config.lostAfter = workload.lostAfter
        config.requestPollInterval = 3600
        config.policy = workload.policy
        sweeps = [Sweep(config: config, tenant: "simulate")]
        for (i, spec) in workload.runs.enumerated() {
            store.runs[spec.id] = RunRecord(spec: spec, sequence: i, state: .pending, epoch: 0, infraFailures: 0, node: nil)
            store.order.append(spec.id)
            specs[spec.id] = spec
            runOwner[spec.id] = 0
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
        var config = CoordinatorInstance.Config(sweep: "dst", places: specs, needs: ["gpu": .init(resources: one, gpuModel: nil)])
        config.maxInfraRetries = 3
        config.retryBackoff = 5
        config.lostAfter = 600
        config.requestPollInterval = 30
        let competitions = (0..<rng.int(2...4)).map { "c\($0)" }
        // Half the single-sweep seeds stage data lazily into caches too small for every competition (eviction, staging
        // failures, runs waiting in `staging` while places come and go and the coordinator crashes). Several sweeps
        // share places without lazy data: one node cache shared by sweeps is not modelled.
        if options.coordinators == 1 && rng.chance(0.5) {
            for c in competitions { config.dataBytes[c] = Int64(rng.int(1...40)) * 1_000_000_000 }
            let largest = config.dataBytes.values.max() ?? 0
            for i in config.places.indices {
                let budget = Int64(Double(largest) * rng.uniform(1, 1.6))
                config.places[i].dataCacheBytes = budget
                places[config.places[i].name]!.cacheBudget = budget
            }
        }
        let budgets = rng.chance(0.5) ? [BudgetDuration(seconds: 3600)] : [BudgetDuration(seconds: 3600), BudgetDuration(seconds: 4 * 3600)]
        var gpuHours = 0.0
        for c in 0..<max(1, options.coordinators) {
            // The first sweep is the single-sweep simulation's; the others have grids (and run ids) of their own.
            let name = c == 0 ? "dst" : "dst\(c)"
            var sc = config
            sc.sweep = name
            sweeps.append(Sweep(config: sc, tenant: "t\(c)", share: c == 0 || rng.chance(0.5) ? 1 : 2))
            let attempts = c == 0 ? rng.int(1...3) : rng.int(2...4)
            let grid = expandGrid(sweep: name, agent: "sim", competitions: competitions, budgets: budgets, profiles: ["gpu"], attempts: attempts)
            gpuHours += grid.reduce(0.0) { $0 + $1.budget.hours }
            for (i, spec) in grid.enumerated() {
                sweeps[c].store.runs[spec.id] = RunRecord(spec: spec, sequence: i, state: .pending, epoch: 0, infraFailures: 0, node: nil)
                sweeps[c].store.order.append(spec.id)
                sweeps[c].specs[spec.id] = spec
                runOwner[spec.id] = c
            }
        }
        // Faults fall while the sweeps are under way: within about their makespan on these places.
        let gpus = Double(specs.reduce(0) { $0 + $1.capacity.gpus })
        faultWindow = min(options.faultWindow, 3600 * (gpuHours / gpus + budgets.map(\.hours).max()!))
    }

    // MARK: driving

    /// How long after the faults end every run must be terminal: two days, plus all the work on the smallest place alone
    /// (places die, down to one; several sweeps bring several grids).
    var slack: Double {
        let work = sweeps.reduce(0.0) { $0 + $1.store.runs.values.reduce(0.0) { $0 + Double($1.spec.budget.seconds) } }
        let smallest = max(1, places.values.map(\.gpus).min() ?? 1)
        return 48 * 3600 + (sweeps.count > 1 ? work / Double(smallest) : 0)
    }

    public func run() -> Result {
        if workload == nil { scheduleFaults() } else { scheduleFailures() }
        for c in sweeps.indices { within(c) { boot() } }
        var lastTerminal = 0.0
        while let (at, event) = queue.pop() {
            guard steps < options.maxSteps, at <= min(options.deadline, faultWindow + slack) else { break }
            now = at
            steps += 1
            handle(event)
            if workload == nil { for c in sweeps.indices { within(c) { checker.check(self) } }; checker.checkPlaces(self) }
            if !checker.violations.isEmpty { break }
            if allTerminal {
                if lastTerminal == 0 { lastTerminal = now }
                if sweeps.allSatisfy({ $0.instance?.isDone == true }) { break }
            } else {
                lastTerminal = 0
            }
        }
        // After a violation the run stops early: not a lost run.
        if checker.violations.isEmpty { for c in sweeps.indices { within(c) { checker.checkEnd(self) } }; checker.checkFairness(self) }
        if options.verbose, !checker.violations.isEmpty { for s in sweeps { if let i = s.instance { logSchedulerView(i) } } }
        var r = Result(seed: options.seed, steps: steps, virtualHours: now / 3600, runs: sweeps.reduce(0) { $0 + $1.store.runs.count },
                       places: places.count, attempts: sweeps.reduce(0) { $0 + $1.store.attemptPlace.count }, crashes: crashes, faults: faults,
                       violations: checker.violations)
        r.makespanHours = (lastTerminal > 0 ? lastTerminal : now) / 3600
        r.busyGPUSeconds = busyGPUSeconds
        r.decisions = sweeps.reduce(0) { $0 + $1.decisions + ($1.instance?.scheduler.decisions ?? 0) }
        r.finishedAt = store.finishedAt.mapValues { $0 / 3600 }
        r.completed = sweeps.reduce(0) { $0 + $1.store.runs.values.filter { $0.state == .completed }.count }
        r.coordinators = sweeps.count
        r.fairnessDeviation = checker.fairnessDeviation
        r.contendedHours = checker.contendedSeconds / 3600
        r.kinds = kinds
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
        log("CRASH of coordinator \(cur) (\(why))")
        crashes += 1
        sweeps[cur].decisions += instance?.scheduler.decisions ?? 0
        instance = nil
        incarnation += 1
        tickAt = nil
        grading.removeAll()
        followUps.removeAll()
        for name in placeNames where places[name]!.conns[cur] != nil { closeConnection(name, notify: false) }
        coordConn.removeAll()
        queue.push(.restart(c: cur), at: now + rng.uniform(1, 120))
    }

    func handle(_ event: Event) {
        if case .coordinator(let e, _, _) = event { count("event", e) } else { count("sim", event) }
        switch event {
        case .coordinator(_, _, let c), .connectDone(_, _, let c), .tick(_, let c), .fault(_, let c), .restart(let c):
            cur = c
        case .request(_, let conn, _):
            cur = connOwner[conn] ?? 0
        case .grow(_, let key), .end(_, let key):
            cur = runOwner[key.runID] ?? 0
        case .pushLoads:
            cur = 0
        }
        switch event {
        case .coordinator(let e, let inc, _):
            guard inc == incarnation, instance != nil else { return }
            if case .placeConnected(let p, let g, _) = e { coordConn[p] = g; places[p]?.connectedSince = now }
            if case .placeUnreachable(let p, let g?, _) = e, coordConn[p] == g { coordConn[p] = nil; places[p]?.connectedSince = nil }
            if case .graded(let job, _, _) = e { grading[job.key]?.remove(job.artifact) }
            feed(e)
        case .tick(let inc, _):
            guard inc == incarnation, instance != nil, tickAt == now else { return }
            tickAt = nil
            feed(.tick)
        case .request(let place, let conn, let request):
            guard places[place]?.conns[cur] == conn else { return }
            nodeHandle(request, at: place)
        case .connectDone(let place, let inc, _):
            guard inc == incarnation, instance != nil else { return }
            connectDone(place)
        case .grow(let place, let key):
            grow(place, key)
        case .end(let place, let key):
            end(place, key, outcome: nil)
        case .fault(let f, _):
            inject(f)
        case .restart:
            if instance == nil { boot() }
        case .pushLoads(let place):
            pushLoads(place)
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
            queue.push(.tick(incarnation: incarnation, c: cur), at: at)
        }
    }

    /// Sends to the coordinator over a place's connection (in order behind what that connection already carries).
    func up(_ e: CoordinatorEvent, conn: Int?) {
        var at = now + rng.uniform(0.001, 0.2)
        if let conn { at = max(at, (upArrival[conn] ?? 0) + 0.0001); upArrival[conn] = at }
        queue.push(.coordinator(e, incarnation: incarnation, c: cur), at: at)
    }

    /// An answer from work off the loop (storage, grading), after its own delay.
    func later(_ e: CoordinatorEvent, after: Double) {
        queue.push(.coordinator(e, incarnation: incarnation, c: cur), at: now + after)
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
