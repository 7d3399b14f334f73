import PodiumCore

/// Pure placement and ordering: events in, directives out. No clocks, no I/O.
/// Waiting runs are kept in policy order in an array consumed from the front (placed entries are tombstoned and
/// compacted now and then), so a decision costs what it places, not the length of the queue.
public struct Scheduler: Sendable {
    public struct Node: Equatable, Sendable {
        public var name: String
        public var capacity: Resources
        public var used: Resources
        public var online: Bool
        public var gpuModel: String? = nil
        /// What is free, never below zero: a shared node's offer can drop below what this sweep's placements hold there
        /// (another sweep took the room), and a negative free must not hide other nodes' room from the total.
        public var free: Resources {
            let f = capacity - used
            return Resources(gpus: max(0, f.gpus), cpus: max(0, f.cpus), memoryBytes: max(0, f.memoryBytes), diskBytes: max(0, f.diskBytes))
        }
        /// The data cache: its byte budget (nil: unlimited) and what it holds, as the placements imply.
        public var cacheBudget: Int64? = nil
        public var cache: [String: CacheEntry] = [:]
        public var cacheUsed: Int64 = 0
    }

    /// A competition's data on a node: its size, when a run last used it (decision count), runs placed that use it.
    public struct CacheEntry: Equatable, Sendable {
        public var bytes: Int64
        public var lastUse: Int
        public var users: Int
    }

    public let policy: SchedulingPolicy
    public private(set) var nodes: [Node] = []
    private var nodeIndex: [String: Int] = [:]
    /// Online nodes by free GPU count (for best fit without scanning every node), and the online free total.
    private var buckets: [Int: Set<Int>] = [:]
    private var freeTotal = Resources.zero
    /// Set where a node's name, capacity or online state changes (the index and buckets derive from them); `use`
    /// keeps them current itself, and the data cache is not part of them.
    private var indexDirty = true
    private var queue: [QueuedRun] = []
    private var gone: [Bool] = []
    private var head = 0
    private var goneCount = 0
    private var queued: Set<String> = []
    /// Waiting runs that need no GPU: while there are none, a cluster without free GPUs ends a placement pass at once.
    private var zeroGPUWaiting = 0
    private var sorted = true
    /// runID → (node, resources held, the data it uses there).
    public private(set) var placed: [String: (node: String, needs: Resources, data: String?, work: Double)] = [:]
    /// Competition → nodes whose cache holds its data.
    private var holders: [String: Set<Int>] = [:]
    /// Competition → GPU-seconds (CPU-seconds for GPU-less runs) of its runs still waiting: where replication pays.
    private var waitingWork: [String: Double] = [:]
    /// Competition → the work of its runs waiting or placed (not yet released): what a node takes on by holding its data.
    private var remainingWork: [String: Double] = [:]
    /// Bytes copied onto nodes by the placements so far (the data each new holder had to receive).
    public private(set) var bytesStaged: Int64 = 0
    /// Placement decisions made so far (for benchmarks).
    public private(set) var decisions = 0

    public init(policy: SchedulingPolicy = .firstAttemptsThenLongest) { self.policy = policy }

    public var runningCount: Int { placed.count }
    /// Runs waiting for a slot, in policy order.
    public var waiting: [QueuedRun] { zip(queue, gone).dropFirst(head).filter { !$0.1 }.map(\.0) }
    public var waitingCount: Int { queued.count }

    public mutating func on(_ event: SchedulerEvent) -> [SchedulerDirective] {
        switch event {
        case .nodeUp(let name, let capacity, let model):
            setNode(name, capacity, model, online: true)
        case .nodeDown(let name):
            if let i = index(of: name) { nodes[i].online = false; indexDirty = true }
        case .nodeKnown(let name, let capacity, let model):
            setNode(name, capacity, model, online: false)
        case .resize(let name, let capacity):
            if let i = index(of: name), nodes[i].capacity != capacity { nodes[i].capacity = capacity; indexDirty = true }
        case .enqueue(let runs):
            for r in runs where placed[r.id] == nil && queued.insert(r.id).inserted {
                queue.append(r)
                gone.append(false)
                if r.needs.gpus == 0 { zeroGPUWaiting += 1 }
                if r.dataBytes > 0 {
                    waitingWork[r.competition, default: 0] += Self.work(r)
                    remainingWork[r.competition, default: 0] += Self.work(r)
                }
                sorted = false
            }
        case .released(let runID):
            if let p = placed.removeValue(forKey: runID), let i = index(of: p.node) {
                use(i, -1, p.needs)
                if let key = p.data {
                    if nodes[i].cache[key] != nil { nodes[i].cache[key]!.users -= 1 }
                    remainingWork[key, default: 0] -= p.work
                }
            }
        case .adopt(let runID, let node, let needs, let data, let dataBytes):
            remove(runID)
            if placed[runID] == nil, let i = index(of: node) {
                use(i, 1, needs)
                var key: String?
                if let data, dataBytes > 0 {
                    key = data
                    if nodes[i].cache[data] == nil { record(data, bytes: dataBytes, on: i) }
                    nodes[i].cache[data]!.users += 1
                    nodes[i].cache[data]!.lastUse = decisions
                }
                placed[runID] = (node, needs, key, 0)
            }
        case .holds(let node, let competition, let bytes):
            if let i = index(of: node), nodes[i].cache[competition] == nil { record(competition, bytes: bytes, on: i) }
        case .dataDropped(let node, let competition):
            if let i = index(of: node), let e = nodes[i].cache.removeValue(forKey: competition) {
                nodes[i].cacheUsed -= e.bytes
                holders[competition]?.remove(i)
            }
        case .dataCache(let node, let maxBytes):
            if let i = index(of: node) { nodes[i].cacheBudget = maxBytes }
        case .cancel(let runID):
            remove(runID)
        case .tick:
            break
        }
        return placeWaiting()
    }

    /// A node's capacity and model as last reported, online (taking work) or not.
    private mutating func setNode(_ name: String, _ capacity: Resources, _ model: String?, online: Bool) {
        if let i = index(of: name) {
            nodes[i].capacity = capacity
            nodes[i].online = online
            nodes[i].gpuModel = model
        } else {
            nodes.append(Node(name: name, capacity: capacity, used: .zero, online: online, gpuModel: model))
        }
        indexDirty = true
    }

    private mutating func index(of name: String) -> Int? {
        rebuildIndexIfNeeded()
        return nodeIndex[name]
    }

    private mutating func rebuildIndexIfNeeded() {
        guard indexDirty else { return }
        nodeIndex = Dictionary(uniqueKeysWithValues: nodes.enumerated().map { ($1.name, $0) })
        buckets = [:]
        freeTotal = .zero
        for (i, n) in nodes.enumerated() where n.online {
            buckets[n.free.gpus, default: []].insert(i)
            freeTotal = freeTotal + n.free
        }
        indexDirty = false
    }

    /// Takes (sign 1) or gives back (−1) resources on node i, keeping the buckets and the free total current.
    private mutating func use(_ i: Int, _ sign: Int, _ needs: Resources) {
        rebuildIndexIfNeeded()
        let online = nodes[i].online
        let before = nodes[i].free
        if online { buckets[before.gpus]?.remove(i) }
        let delta = sign > 0 ? needs : Resources.zero - needs
        nodes[i].used = nodes[i].used + delta
        if online {
            buckets[nodes[i].free.gpus, default: []].insert(i)
            freeTotal = freeTotal - before + nodes[i].free
        }
    }

    private mutating func remove(_ runID: String) {
        guard queued.remove(runID) != nil else { return }
        for i in head..<queue.count where !gone[i] && queue[i].id == runID {
            gone[i] = true
            goneCount += 1
            if queue[i].needs.gpus == 0 { zeroGPUWaiting -= 1 }
            if queue[i].dataBytes > 0 {
                waitingWork[queue[i].competition, default: 0] -= Self.work(queue[i])
                remainingWork[queue[i].competition, default: 0] -= Self.work(queue[i])
            }
            return
        }
    }

    static let skipBudget = 1024

    static func work(_ r: QueuedRun) -> Double { Double(r.budgetSeconds) * (r.needs.gpus > 0 ? Double(r.needs.gpus) : r.needs.cpus) }

    /// Greedy list scheduling in policy order; a run that fits nowhere now does not block smaller ones behind it.
    /// With data locality (runs that carry `dataBytes`), a run goes first to a node that holds its data; a competition
    /// seen for the first time goes to the best node that can hold it; and a run whose data holders are all busy waits
    /// for them — unless, after everyone has had their turn, a node would otherwise stay idle: then the waiting
    /// competition that weighs most on its holders is copied there (replication only to keep GPUs busy).
    private mutating func placeWaiting() -> [SchedulerDirective] {
        guard !queued.isEmpty else { return [] }
        if !sorted { compact(); sorted = true }
        rebuildIndexIfNeeded()
        var out = [SchedulerDirective]()
        var deferred = false
        // Runs that wait for their data's holders are passed over; after this many in a row with nothing placed, the
        // pass ends (every competition has runs near the front of the queue, so the ones that can go are found early,
        // and a 100,000-run queue is not walked for every freed slot).
        var skipped = 0
        var i = head
        while i < queue.count && (freeTotal.gpus > 0 || (zeroGPUWaiting > 0 && freeTotal.cpus > 1e-9)) && skipped < Self.skipBudget {
            defer { i += 1 }
            if gone[i] { continue }
            let run = queue[i]
            guard run.needs.fits(in: freeTotal) else { continue }
            let n: Int?
            if run.dataBytes > 0 {
                if let h = bestHolder(for: run) {
                    n = h
                } else if holders[run.competition, default: []].isEmpty, let h = homeNode(for: run) {
                    n = h
                } else if !holders[run.competition, default: []].isEmpty,
                          run.attempt == 1 || !holders[run.competition]!.contains(where: { nodes[$0].online }),
                          let h = homeNode(for: run) ?? bestNode(for: run.needs, gpuModel: run.gpuModel, data: run) {
                    // A first attempt (pass@1 comes early) or a run whose holders are all down does not wait for a
                    // holder: its data is copied to a free node now, in policy order.
                    n = h
                } else {
                    deferred = true
                    n = nil
                }
            } else {
                n = bestNode(for: run.needs, gpuModel: run.gpuModel, data: nil)
            }
            guard let n else {
                if run.dataBytes > 0 { skipped += 1 }
                continue
            }
            skipped = 0
            place(queue: i, on: n, &out)
        }
        if deferred { replicateOntoIdleNodes(&out) }
        while head < queue.count && gone[head] { head += 1 }
        if goneCount > 4096 && goneCount * 2 > queue.count { compact() }
        return out
    }

    private mutating func place(queue i: Int, on n: Int, _ out: inout [SchedulerDirective]) {
        let run = queue[i]
        use(n, 1, run.needs)
        var key: String?
        if run.dataBytes > 0 {
            key = run.competition
            hold(run.competition, bytes: run.dataBytes, on: n)
            waitingWork[run.competition, default: 0] -= Self.work(run)
        }
        placed[run.id] = (nodes[n].name, run.needs, key, key == nil ? 0 : Self.work(run))
        queued.remove(run.id)
        gone[i] = true
        goneCount += 1
        if run.needs.gpus == 0 { zeroGPUWaiting -= 1 }
        decisions += 1
        out.append(.place(runID: run.id, node: nodes[n].name))
    }

    /// Records that node n holds (or is being sent) the competition's data, evicting least recently used data no
    /// placed run uses to fit the cache budget.
    private mutating func hold(_ key: String, bytes: Int64, on n: Int) {
        if nodes[n].cache[key] == nil {
            if let budget = nodes[n].cacheBudget {
                while nodes[n].cacheUsed + bytes > budget,
                      let victim = nodes[n].cache.filter({ $0.value.users == 0 }).min(by: { ($0.value.lastUse, $0.key) < ($1.value.lastUse, $1.key) })?.key {
                    nodes[n].cacheUsed -= nodes[n].cache[victim]!.bytes
                    nodes[n].cache[victim] = nil
                    holders[victim]?.remove(n)
                }
            }
            nodes[n].cache[key] = CacheEntry(bytes: bytes, lastUse: decisions, users: 0)
            nodes[n].cacheUsed += bytes
            holders[key, default: []].insert(n)
            bytesStaged += bytes
        }
        nodes[n].cache[key]!.users += 1
        nodes[n].cache[key]!.lastUse = decisions
    }

    /// Data found on a node (not copied by a placement): held, unused.
    private mutating func record(_ key: String, bytes: Int64, on n: Int) {
        nodes[n].cache[key] = CacheEntry(bytes: bytes, lastUse: decisions, users: 0)
        nodes[n].cacheUsed += bytes
        holders[key, default: []].insert(n)
    }

    /// Competitions whose data the model has on the node (held or being copied).
    public func cached(on node: String) -> [String: CacheEntry] {
        nodes.first { $0.name == node }?.cache ?? [:]
    }

    /// Can node n take this data (already there, or room once unused data is evicted)?
    private func canHold(_ run: QueuedRun, on n: Int) -> Bool {
        if nodes[n].cache[run.competition] != nil { return true }
        guard let budget = nodes[n].cacheBudget else { return true }
        let pinned = nodes[n].cache.values.filter { $0.users > 0 }.reduce(Int64(0)) { $0 + $1.bytes }
        return pinned + run.dataBytes <= budget
    }

    /// Where a competition seen for the first time goes: the node whose held competitions add up to the least work
    /// (so each node's share of the sweep is about the same and few copies are needed later), then the one holding
    /// the fewest bytes (its copy stream is the least busy), then best fit.
    /// Only nodes still under their fair share of the remaining work (over every node known, up or not yet) take a
    /// new competition; the rest waits for a node to come up or to work its share down — or for an idle node
    /// (`replicateOntoIdleNodes`), so nothing waits while GPUs idle.
    private func homeNode(for run: QueuedRun) -> Int? {
        let share = remainingWork.values.reduce(0, +) / Double(max(1, nodes.count))
        var best: (load: Double, bytes: Int64, gpus: Int, cpus: Double, i: Int)?
        for (i, n) in nodes.enumerated() where n.online && run.needs.fits(in: n.free)
            && gpuModelMatches(required: run.gpuModel, offered: n.gpuModel) && canHold(run, on: i) {
            let load = load(of: i)
            guard load < share else { continue }
            let key = (load, n.cacheUsed, n.free.gpus, n.free.cpus, i)
            if best == nil || key < best! { best = key }
        }
        return best?.i
    }

    /// The remaining work a node has taken on: its held competitions' remaining work, split over their holders.
    private func load(of i: Int) -> Double {
        nodes[i].cache.keys.reduce(0.0) { $0 + (remainingWork[$1] ?? 0) / Double(max(1, holders[$1]?.count ?? 1)) }
    }

    /// The best-fitting online holder of the run's data with room for it.
    private func bestHolder(for run: QueuedRun) -> Int? {
        var best: Int?
        for i in holders[run.competition] ?? [] where nodes[i].online && run.needs.fits(in: nodes[i].free)
            && gpuModelMatches(required: run.gpuModel, offered: nodes[i].gpuModel) {
            if best == nil || (nodes[i].free.gpus, nodes[i].free.cpus, i) < (nodes[best!].free.gpus, nodes[best!].free.cpus, best!) { best = i }
        }
        return best
    }

    /// Nodes with room left after every run had its turn take the waiting run whose competition has the most waiting
    /// work per holder (its data is copied there), one at a time, until nothing more fits.
    private mutating func replicateOntoIdleNodes(_ out: inout [SchedulerDirective]) {
        var excluded = Set<String>()  // competitions no node can take now
        while freeTotal.gpus > 0 || (zeroGPUWaiting > 0 && freeTotal.cpus > 1e-9) {
            // Each waiting competition's first run in policy order, scored without looking at nodes; then a node for the
            // best one only (a node search per candidate would cost nodes × competitions per placement).
            var best: (score: Double, index: Int)?
            var seen = Set<String>()
            let waitingCompetitions = waitingWork.values.filter { $0 > 1e-9 }.count
            for i in head..<queue.count where !gone[i] && queue[i].dataBytes > 0 && !seen.contains(queue[i].competition) {
                if seen.count >= waitingCompetitions { break }
                let run = queue[i]
                seen.insert(run.competition)
                guard !excluded.contains(run.competition), run.needs.fits(in: freeTotal) else { continue }
                // A competition nobody holds yet comes first (it has to go somewhere); then the one whose waiting work
                // weighs most on each holder, per byte to copy.
                let holderCount = holders[run.competition]?.count ?? 0
                let score = holderCount == 0 ? .infinity : (waitingWork[run.competition] ?? 0) / Double(holderCount) / (Double(run.dataBytes) + 1e9)
                if best == nil || score > best!.score { best = (score, i) }
            }
            guard let b = best else { return }
            let run = queue[b.index]
            if let n = bestNode(for: run.needs, gpuModel: run.gpuModel, data: run) {
                place(queue: b.index, on: n, &out)
            } else {
                excluded.insert(run.competition)
            }
        }
    }

    /// Drops placed entries and restores policy order.
    private mutating func compact() {
        var live = [QueuedRun]()
        live.reserveCapacity(queued.count)
        for i in head..<queue.count where !gone[i] { live.append(queue[i]) }
        let policy = self.policy
        live.sort { policy.before($0, $1) }
        queue = live
        gone = [Bool](repeating: false, count: live.count)
        head = 0
        goneCount = 0
    }

    /// Best fit: the online node where the run leaves the fewest GPUs (then CPUs) idle. Looks only at nodes with
    /// the fewest free GPUs that suffice (the buckets), not at every node.
    /// With `data`: only nodes that can hold it, and among equally good fits the one with the least data.
    private func bestNode(for needs: Resources, gpuModel: String?, data: QueuedRun?) -> Int? {
        for g in buckets.keys.filter({ $0 >= needs.gpus }).sorted() {
            var best: Int?
            for i in buckets[g]! where needs.fits(in: nodes[i].free) && gpuModelMatches(required: gpuModel, offered: nodes[i].gpuModel)
                && (data.map { canHold($0, on: i) } ?? true) {
                if best == nil || (nodes[i].free.cpus, nodes[i].cacheUsed, i) < (nodes[best!].free.cpus, nodes[best!].cacheUsed, best!) { best = i }
            }
            if let best { return best }
        }
        return nil
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
