import PodiumCore

/// Resources a node offers or a run needs (the one amount type of podium, `ResourceAmount`).
public typealias Resources = ResourceAmount

extension ResourceAmount {
    public init(_ profile: HardwareProfile) {
        self.init(gpus: profile.gpus, cpus: profile.cpus, memoryBytes: profile.memoryBytes, diskBytes: profile.diskBytes ?? 0)
    }
    /// What an inventory node offers: its scratch disk unlimited when it declares none.
    public init(_ node: NodeSpec) {
        self.init(gpus: node.gpus, cpus: node.cpus, memoryBytes: node.memoryBytes, diskBytes: node.diskBytes ?? ResourceAmount.unlimitedDisk)
    }
}

/// Does a node's GPU model satisfy a profile's `gpu_model`? Case-insensitive substring ("H100" matches
/// "NVIDIA H100 80GB HBM3"); no requirement matches anything, a requirement never matches an unknown model.
public func gpuModelMatches(required: String?, offered: String?) -> Bool {
    guard let required, !required.isEmpty else { return true }
    guard let offered else { return false }
    return offered.lowercased().contains(required.lowercased())
}

/// A run waiting for a slot, with what ordering and placement need to know.
public struct QueuedRun: Equatable, Sendable {
    public var id: String
    public var competition: String
    public var attempt: Int
    public var budgetSeconds: Int
    public var needs: Resources
    /// Position in the sweep file's order, for FIFO and as the final tie-break.
    public var sequence: Int
    /// GPU model the run's profile requires (nil: any).
    public var gpuModel: String?
    /// Bytes of the competition's public data a node must hold before the run can start there (0: locality is not
    /// considered, as when the data is everywhere already).
    public var dataBytes: Int64 = 0

    public init(id: String, competition: String, attempt: Int, budgetSeconds: Int, needs: Resources, sequence: Int, gpuModel: String? = nil,
                dataBytes: Int64 = 0) {
        self.id = id; self.competition = competition; self.attempt = attempt
        self.budgetSeconds = budgetSeconds; self.needs = needs; self.sequence = sequence; self.gpuModel = gpuModel
        self.dataBytes = dataBytes
    }
}

/// Which waiting run goes first.
public enum SchedulingPolicy: String, Sendable, CaseIterable, Codable {
    /// File order, like MLE-bench's run_agent worker pool (the baseline).
    case fifo
    /// Longest budget first: short makespan tail, but late pass@1 for short budgets.
    case longestFirst = "longest-first"
    /// Every competition's first attempt (each budget) before any second attempt; longest first within a wave.
    case firstAttemptsThenLongest = "first-attempts-then-longest"

    /// Strict ordering: true when `a` should be placed before `b`.
    public func before(_ a: QueuedRun, _ b: QueuedRun) -> Bool {
        switch self {
        case .fifo:
            return a.sequence < b.sequence
        case .longestFirst:
            if a.budgetSeconds != b.budgetSeconds { return a.budgetSeconds > b.budgetSeconds }
            return a.sequence < b.sequence
        case .firstAttemptsThenLongest:
            let fa = a.attempt == 1, fb = b.attempt == 1
            if fa != fb { return fa }
            if a.budgetSeconds != b.budgetSeconds { return a.budgetSeconds > b.budgetSeconds }
            return a.sequence < b.sequence
        }
    }
}

/// Inputs to the scheduler. Time is passed in, never read, so the simulator drives the same code.
public enum SchedulerEvent: Equatable, Sendable {
    case nodeUp(name: String, capacity: Resources, gpuModel: String? = nil)
    case nodeDown(name: String)
    /// What the node offers this sweep changed (a shared node's other sweeps took or freed some): its online state
    /// stays as it is.
    case resize(name: String, capacity: Resources)
    /// A node whose capacity is known but which takes no new work yet (its running attempts are being matched first).
    case nodeKnown(name: String, capacity: Resources, gpuModel: String? = nil)
    case enqueue([QueuedRun])
    /// The attempt placed for this run ended (any outcome); its resources are free again.
    case released(runID: String)
    /// A run already running on `node` (taken over after a coordinator restart): its resources are held, and the
    /// competition's data there (`data`, `dataBytes`) is in use.
    case adopt(runID: String, node: String, needs: Resources, data: String? = nil, dataBytes: Int64 = 0)
    case cancel(runID: String)
    /// Re-evaluate placements (e.g. after a batch of events).
    case tick
    /// The byte budget of a node's data cache (nil: unlimited). Data larger than it never goes there.
    case dataCache(node: String, maxBytes: Int64?)
    /// The node's cache holds (or partly holds) this competition's data, as the durable state recorded it: placement
    /// prefers it there, and it counts against the budget.
    case holds(node: String, competition: String, bytes: Int64)
    /// The node's copy of this competition's data is gone or unusable (staging failed): it no longer counts as held.
    case dataDropped(node: String, competition: String)
}

/// Outputs: what the shell must carry out.
public enum SchedulerDirective: Equatable, Sendable {
    case place(runID: String, node: String)
}
