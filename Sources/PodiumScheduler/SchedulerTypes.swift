import PodiumCore

/// Resources a node offers or a run needs.
public struct Resources: Equatable, Sendable, Hashable {
    public var gpus: Int
    public var cpus: Double
    public var memoryBytes: Int64
    /// Scratch disk a run needs (profile `disk`) or a node offers for runs (inventory `disk`; unlimited when unset).
    public var diskBytes: Int64

    public init(gpus: Int, cpus: Double, memoryBytes: Int64, diskBytes: Int64 = 0) {
        self.gpus = gpus; self.cpus = cpus; self.memoryBytes = memoryBytes; self.diskBytes = diskBytes
    }
    public init(_ profile: HardwareProfile) {
        self.init(gpus: profile.gpus, cpus: profile.cpus, memoryBytes: profile.memoryBytes, diskBytes: profile.diskBytes ?? 0)
    }
    public init(_ node: NodeSpec) {
        self.init(gpus: node.gpus, cpus: node.cpus, memoryBytes: node.memoryBytes, diskBytes: node.diskBytes ?? Resources.unlimitedDisk)
    }

    public static let zero = Resources(gpus: 0, cpus: 0, memoryBytes: 0)
    /// 1 PiB: "no limit" that still sums over thousands of nodes without overflow (8 nodes of 2^60 overflowed Int64).
    public static let unlimitedDisk: Int64 = 1 << 50

    public func fits(in free: Resources) -> Bool {
        gpus <= free.gpus && cpus <= free.cpus + 1e-9 && memoryBytes <= free.memoryBytes && diskBytes <= free.diskBytes
    }
    /// What of this need does not fit in `free`, in words ("4 GPUs (has 2)"); empty when it fits.
    public func shortfall(in free: Resources) -> [String] {
        var out = [String]()
        if gpus > free.gpus { out.append("\(gpus) GPUs (has \(free.gpus))") }
        if cpus > free.cpus + 1e-9 { out.append("\(cpus) CPUs (has \(free.cpus))") }
        if memoryBytes > free.memoryBytes { out.append("\(memoryBytes >> 20) MiB of memory (has \(free.memoryBytes >> 20) MiB)") }
        if diskBytes > free.diskBytes { out.append("\(diskBytes >> 30) GiB of disk (has \(free.diskBytes >> 30) GiB)") }
        return out
    }
    public static func + (a: Self, b: Self) -> Self {
        Self(gpus: a.gpus + b.gpus, cpus: a.cpus + b.cpus, memoryBytes: a.memoryBytes + b.memoryBytes, diskBytes: a.diskBytes + b.diskBytes)
    }
    public static func - (a: Self, b: Self) -> Self {
        Self(gpus: a.gpus - b.gpus, cpus: a.cpus - b.cpus, memoryBytes: a.memoryBytes - b.memoryBytes, diskBytes: a.diskBytes - b.diskBytes)
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
