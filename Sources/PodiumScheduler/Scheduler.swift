import PodiumCore

/// Pure placement and ordering: events in, directives out. No clocks, no I/O.
public struct Scheduler: Sendable {
    public struct Node: Equatable, Sendable {
        public var name: String
        public var capacity: Resources
        public var used: Resources
        public var online: Bool
        public var free: Resources { capacity - used }
    }

    public let policy: SchedulingPolicy
    public private(set) var nodes: [Node] = []
    public private(set) var waiting: [QueuedRun] = []
    /// runID → (node, resources held).
    public private(set) var placed: [String: (node: String, needs: Resources)] = [:]
    private var waitingSorted = true

    public init(policy: SchedulingPolicy = .firstAttemptsThenLongest) { self.policy = policy }

    public var runningCount: Int { placed.count }

    public mutating func on(_ event: SchedulerEvent) -> [SchedulerDirective] {
        switch event {
        case .nodeUp(let name, let capacity):
            if let i = nodes.firstIndex(where: { $0.name == name }) {
                nodes[i].capacity = capacity
                nodes[i].online = true
            } else {
                nodes.append(Node(name: name, capacity: capacity, used: .zero, online: true))
            }
        case .nodeDown(let name):
            if let i = nodes.firstIndex(where: { $0.name == name }) { nodes[i].online = false }
        case .enqueue(let runs):
            var known = Set(waiting.map(\.id)).union(placed.keys)
            waiting.append(contentsOf: runs.filter { known.insert($0.id).inserted })
            waitingSorted = false
        case .released(let runID):
            if let p = placed.removeValue(forKey: runID), let i = nodes.firstIndex(where: { $0.name == p.node }) {
                nodes[i].used = nodes[i].used - p.needs
            }
        case .adopt(let runID, let node, let needs):
            waiting.removeAll { $0.id == runID }
            if placed[runID] == nil, let i = nodes.firstIndex(where: { $0.name == node }) {
                nodes[i].used = nodes[i].used + needs
                placed[runID] = (node, needs)
            }
        case .cancel(let runID):
            waiting.removeAll { $0.id == runID }
        case .tick:
            break
        }
        return placeWaiting()
    }

    /// Greedy list scheduling in policy order; a run that fits nowhere now does not block smaller ones behind it.
    private mutating func placeWaiting() -> [SchedulerDirective] {
        guard !waiting.isEmpty, nodes.contains(where: \.online) else { return [] }
        if !waitingSorted {
            let policy = self.policy
            waiting.sort { policy.before($0, $1) }
            waitingSorted = true
        }
        var out = [SchedulerDirective]()
        var keep = [QueuedRun]()
        keep.reserveCapacity(waiting.count)
        var anyFree = true
        for run in waiting {
            guard anyFree, let i = bestNode(for: run.needs) else {
                keep.append(run)
                continue
            }
            nodes[i].used = nodes[i].used + run.needs
            placed[run.id] = (nodes[i].name, run.needs)
            out.append(.place(runID: run.id, node: nodes[i].name))
            anyFree = nodes.contains { $0.online && ($0.free.cpus > 1e-9 || $0.free.gpus > 0) }
        }
        waiting = keep
        return out
    }

    /// Best fit: the online node where the run leaves the fewest GPUs (then CPUs) idle.
    private func bestNode(for needs: Resources) -> Int? {
        var best: Int?
        for i in nodes.indices where nodes[i].online && needs.fits(in: nodes[i].free) {
            guard let b = best else { best = i; continue }
            let fi = nodes[i].free, fb = nodes[b].free
            if (fi.gpus, fi.cpus) < (fb.gpus, fb.cpus) { best = i }
        }
        return best
    }
}

/// The planning figures `podium plan` prints, from the grid and the inventory alone.
public struct PlanEstimate: Sendable, Equatable {
    public var runs: Int
    public var gpuHours: Double
    public var cpuHours: Double
    /// max over resources of (demand-hours ÷ capacity), and the longest run.
    public var makespanLowerBoundHours: Double

    public init(runs: [(budgetSeconds: Int, needs: Resources)], capacity: Resources) {
        self.runs = runs.count
        var gpu = 0.0, cpu = 0.0, mem = 0.0, longest = 0.0
        for r in runs {
            let h = Double(r.budgetSeconds) / 3600
            gpu += Double(r.needs.gpus) * h
            cpu += r.needs.cpus * h
            mem += Double(r.needs.memoryBytes) * h
            longest = max(longest, h)
        }
        gpuHours = gpu
        cpuHours = cpu
        var bound = longest
        if capacity.gpus > 0 { bound = max(bound, gpu / Double(capacity.gpus)) } else if gpu > 0 { bound = .infinity }
        if capacity.cpus > 0 { bound = max(bound, cpu / capacity.cpus) }
        if capacity.memoryBytes > 0 { bound = max(bound, mem / Double(capacity.memoryBytes)) }
        makespanLowerBoundHours = bound
    }
}
