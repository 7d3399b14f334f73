import PodiumCore

/// Discrete-event simulation of a sweep on a cluster, driving the very same `Scheduler` with a virtual clock.
public struct Simulation: Sendable {
    public struct Node: Sendable {
        public var name: String
        public var capacity: Resources
        public init(name: String, capacity: Resources) { self.name = name; self.capacity = capacity }
    }

    public struct Failures: Sendable {
        /// Mean hours between failures of one node (0: none); a failed node loses its runs and returns after `repairHours`.
        public var nodeMTBFHours: Double = 0
        public var repairHours: Double = 1
        /// Probability that an attempt dies of an infra error at a uniformly random point of its run.
        public var infraErrorRate: Double = 0
        public init() {}
    }

    public var nodes: [Node]
    public var runs: [QueuedRun]
    public var policy: SchedulingPolicy
    /// Fraction of its budget each run uses: 1 = the full budget; below 1, drawn uniformly in [earlyFinishMin, 1].
    public var earlyFinishMin: Double = 1
    public var failures = Failures()
    public var seed: UInt64 = 1

    public init(nodes: [Node], runs: [QueuedRun], policy: SchedulingPolicy) {
        self.nodes = nodes; self.runs = runs; self.policy = policy
    }

    public struct Result: Sendable, Encodable {
        public var policy: String
        public var makespan_hours: Double
        public var utilization: Double
        public var runs: Int
        public var attempts: Int
        public var requeued: Int
        public var decisions: Int
        /// Budget (hours, as text) → hours until every competition's attempt 1 of that budget has finished.
        public var first_pass1_hours: [String: Double]
    }

    enum Event { case finish(String, Int), fail(String, Int), nodeDown(String), nodeUp(String) }

    public func run() -> Result {
        var rng = SeededRandom(seed: seed)
        var scheduler = Scheduler(policy: policy)
        var heap = TimedQueue<Event>()
        let byID = Dictionary(uniqueKeysWithValues: runs.map { ($0.id, $0) })
        var epoch = [String: Int]()
        var startedAt = [String: Double]()
        var nodeOf = [String: String]()
        var done = [String: Double]()
        var busyGPUSeconds = 0.0, busyCPUSeconds = 0.0
        var attempts = 0, requeued = 0
        var now = 0.0

        func place(_ directives: [SchedulerDirective]) {
            for case .place(let id, let node) in directives {
                let r = byID[id]!
                attempts += 1
                epoch[id, default: 0] += 1
                startedAt[id] = now
                nodeOf[id] = node
                let frac = earlyFinishMin < 1 ? earlyFinishMin + (1 - earlyFinishMin) * rng.unit() : 1
                let length = Double(r.budgetSeconds) * frac
                if failures.infraErrorRate > 0 && rng.unit() < failures.infraErrorRate {
                    heap.push(.fail(id, epoch[id]!), at: now + length * rng.unit())
                } else {
                    heap.push(.finish(id, epoch[id]!), at: now + length)
                }
            }
        }
        func account(_ id: String) {
            let r = byID[id]!, t = now - (startedAt[id] ?? now)
            busyGPUSeconds += Double(r.needs.gpus) * t
            busyCPUSeconds += r.needs.cpus * t
        }

        for n in nodes {
            place(scheduler.on(.nodeUp(name: n.name, capacity: n.capacity)))
            if failures.nodeMTBFHours > 0 { heap.push(.nodeDown(n.name), at: rng.exponential(mean: failures.nodeMTBFHours * 3600)) }
        }
        place(scheduler.on(.enqueue(runs)))
        while done.count < runs.count, let (t, e) = heap.pop() {
            now = t
            switch e {
            case .finish(let id, let ep):
                guard epoch[id] == ep, done[id] == nil, nodeOf[id] != nil else { continue }
                account(id)
                done[id] = now
                nodeOf[id] = nil
                place(scheduler.on(.released(runID: id)))
            case .fail(let id, let ep):
                guard epoch[id] == ep, nodeOf[id] != nil else { continue }
                account(id)
                nodeOf[id] = nil
                requeued += 1
                place(scheduler.on(.released(runID: id)))
                place(scheduler.on(.enqueue([byID[id]!])))
            case .nodeDown(let name):
                place(scheduler.on(.nodeDown(name: name)))
                var lost = [QueuedRun]()
                for (id, n) in nodeOf where n == name {
                    account(id)
                    nodeOf[id] = nil
                    epoch[id, default: 0] += 1  // its pending finish is void
                    requeued += 1
                    place(scheduler.on(.released(runID: id)))
                    lost.append(byID[id]!)
                }
                place(scheduler.on(.enqueue(lost)))
                heap.push(.nodeUp(name), at: now + failures.repairHours * 3600)
            case .nodeUp(let name):
                let cap = nodes.first { $0.name == name }!.capacity
                place(scheduler.on(.nodeUp(name: name, capacity: cap)))
                if failures.nodeMTBFHours > 0 { heap.push(.nodeDown(name), at: now + rng.exponential(mean: failures.nodeMTBFHours * 3600)) }
            }
        }
        let total = nodes.reduce(Resources.zero) { $0 + $1.capacity }
        let utilization = total.gpus > 0 ? busyGPUSeconds / (Double(total.gpus) * max(now, 1e-9))
                                         : busyCPUSeconds / (total.cpus * max(now, 1e-9))
        var firstPass = [Int: Double]()
        for r in runs where r.attempt == 1 { firstPass[r.budgetSeconds] = max(firstPass[r.budgetSeconds] ?? 0, done[r.id] ?? .infinity) }
        return Result(policy: policy.rawValue, makespan_hours: now / 3600, utilization: utilization, runs: runs.count,
                      attempts: attempts, requeued: requeued, decisions: scheduler.decisions,
                      first_pass1_hours: Dictionary(uniqueKeysWithValues: firstPass.map { (BudgetDuration(seconds: $0.key).description, $0.value / 3600) }))
    }
}
