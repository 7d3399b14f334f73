import ArgumentParser
import PodiumCoordinator
import PodiumCore
import PodiumReport
import PodiumScheduler
import PodiumDST
import PodiumSystem

struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Simulate a sweep on a cluster with the real coordinator and a virtual clock; compare with FIFO.",
        discussion: """
            The coordinator's own instance (scheduler, run state machine, retries, reconnects, lost_after from the sweep) \
            drives simulated nodes that speak the worker protocol. The cluster is the sweep's inventory (each node's GPUs, \
            CPUs and memory; each run takes its profile's), as `podium plan` simulates it — unless --nodes or \
            --gpus-per-node describe a synthetic cluster of identical GPU nodes, where each run takes --gpus-per-run GPUs \
            (default 1, as MLE-bench gives a run one GPU) and CPUs and memory are not simulated. Runs last their budget (or \
            a fraction of it with --early-finish). The FIFO baseline is MLE-bench's run_agent pool, which takes runs in file order.
            """)

    @OptionGroup var sweep: SweepOptions
    @Option(help: "Nodes of a synthetic cluster (instead of the inventory; with --gpus-per-node, default 8).") var nodes: Int?
    @Option(help: "GPUs per node of a synthetic cluster (instead of the inventory; with --nodes, default 20).") var gpusPerNode: Int?
    @Option(help: "GPUs each run takes on a synthetic cluster (default 1).") var gpusPerRun: Int?
    @Option(help: "Scheduling policy: \(SchedulingPolicy.allCases.map(\.rawValue).joined(separator: ", ")).") var policy: String = SchedulingPolicy.firstAttemptsThenLongest.rawValue
    @Option(help: "Runs use a uniform fraction of their budget between this and 1 (1: the full budget).") var earlyFinish: Double = 1
    @Option(help: "Mean hours between failures of a node (0: none); a failed node loses its attempts, which are requeued after the sweep's lost_after.") var nodeMtbfHours: Double = 0
    @Option(help: "Hours a failed node is away.") var repairHours: Double = 2
    @Option(help: "Probability that an attempt dies of an infra error (then it is retried).") var infraErrorRate: Double = 0
    @Option(help: "Data cache of each node, e.g. 1TB or 2TiB: data is staged to a node when a run needs it there (sizes from the mle-bench dir's competition_categories.csv), least recently used data evicted, and placement prefers nodes that hold a run's data. Without it every node holds every dataset from the start (podium's staging today).")
    var nodeDisk: String?
    @Option(help: "Each node's staging bandwidth with --node-disk, e.g. 100MB/s (one copy at a time per node).") var nodeBandwidth: String = "100MB/s"
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: "text or json.") var format: OutputFormat = .text

    struct Output: Encodable {
        /// "inventory" (the sweep's nodes and profiles) or "synthetic" (--nodes × --gpus-per-node).
        var cluster: String
        var runs: Int
        var nodes: Int
        var gpus: Int
        var policy: String
        var makespan_hours: Double
        var lower_bound_hours: Double
        var makespan_over_lower_bound: Double
        /// GPU utilization (null on a cluster without GPUs).
        var utilization: Double?
        var first_pass1_hours: [String: Double]
        var fifo_makespan_hours: Double
        var fifo_first_pass1_hours: [String: Double]
        var fifo_utilization: Double?
        var attempts: Int
        var requeued: Int
        var decisions: Int
        var wall_seconds: Double
        var completed: Int
        var infra_failed: Int
        /// Events the coordinator instance took (replies, checks, grades, ticks, connections).
        var events: Int
        /// Staging (issue 18): TB copied onto nodes; each dataset once; every dataset to every node; node-hours copying.
        var bytes_staged_tb: Double?
        var min_bytes_tb: Double?
        var all_to_all_tb: Double?
        var staging_hours: Double?
        var node_disk_tb: Double?
        var node_bandwidth_mb_per_s: Double?
        var fifo_bytes_staged_tb: Double?
    }

    var synthetic: Bool { nodes != nil || gpusPerNode != nil }

    func validate() throws {
        if gpusPerRun != nil && !synthetic {
            throw ValidationError("--gpus-per-run applies to a synthetic cluster (--nodes, --gpus-per-node); on the inventory each run takes its profile's GPUs")
        }
        let (n, g, r) = (nodes ?? 20, gpusPerNode ?? 8, gpusPerRun ?? 1)
        guard n > 0 else { throw ValidationError("--nodes must be ≥ 1") }
        guard g > 0, r > 0, r <= g else { throw ValidationError("need 1 ≤ --gpus-per-run ≤ --gpus-per-node") }
        guard earlyFinish > 0 && earlyFinish <= 1 else { throw ValidationError("--early-finish must be in (0, 1]") }
        if let d = nodeDisk, parseDecimalByteSize(d) == nil {
            throw ValidationError("--node-disk: '\(d)' is not a size such as 1TB, 500GB or 2TiB")
        }
        guard let bw = parseDecimalByteSize(nodeBandwidth), bw > 0 else {
            throw ValidationError("--node-bandwidth: '\(nodeBandwidth)' is not a rate such as 100MB/s")
        }
        guard SchedulingPolicy(rawValue: policy) != nil else {
            throw ValidationError("--policy: '\(policy)' is not one of \(SchedulingPolicy.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() throws {
        let setup = try SweepSetup.load(configPath: sweep.config, overrides: sweep.overrides)
        // Dataset sizes of the sweep's competitions (lazy staging): from the checkout's competition_categories.csv.
        let lazy = nodeDisk != nil || (!synthetic && setup.inventory.nodes.contains { $0.dataCache != nil })
        let sizes = lazy ? CompetitionRegistry.datasetBytes(mlebenchDir: setup.config.mlebenchDir) : [:]
        if lazy && sizes.isEmpty {
            throw ConfigError(path: "--node-disk", found: "no dataset sizes in \(setup.config.mlebenchDir)/experiments/competition_categories.csv",
                              expected: "an mle-bench checkout with dataset_size_GB per competition", fix: "pass --mlebench-dir, or drop --node-disk")
        }
        let dataBytes = sizes.filter { id, _ in setup.competitions.contains { $0.id == id } }
        let disk = nodeDisk.flatMap(parseDecimalByteSize)
        if let disk, let (id, big) = dataBytes.max(by: { $0.value < $1.value }), big > disk {
            throw ConfigError(path: "--node-disk", found: "\(nodeDisk!) per node, but \(id) needs \(fixed(Double(big) / 1e9, 1)) GB",
                              expected: "a data cache that holds the largest dataset of the sweep", fix: "raise --node-disk or leave \(id) out")
        }
        var places: [CoordinatorInstance.PlaceSpec]
        let needsByProfile: [String: CoordinatorInstance.Needs]
        let capacity: Resources
        if synthetic {
            let (n, g) = (nodes ?? 20, gpusPerNode ?? 8)
            let needs = Resources(gpus: gpusPerRun ?? 1, cpus: 0, memoryBytes: 0)
            places = (0..<n).map { CoordinatorInstance.PlaceSpec(name: "n\($0)", capacity: Resources(gpus: g, cpus: 1e9, memoryBytes: 1 << 50), gpuModel: nil) }
            needsByProfile = Dictionary(uniqueKeysWithValues: setup.config.hardware.map { ($0.name, .init(resources: needs, gpuModel: nil)) })
            capacity = Resources(gpus: n * g, cpus: 0, memoryBytes: 0)
        } else {
            let w = PodiumDST.Simulation.Workload.inventory(setup, policy: .fifo)
            places = w.places
            needsByProfile = w.needs
            capacity = setup.inventory.nodes.reduce(Resources.zero) { $0 + Resources($1) }
        }
        // The real coordinator instance (scheduler, state machine, lost_after, retries) against simulated places.
        func simulate(_ p: SchedulingPolicy) -> PodiumDST.Simulation.Result {
            var w = PodiumDST.Simulation.Workload(places: places.map { var s = $0; if let disk { s.dataCacheBytes = disk }; return s }, runs: setup.runs,
                                                  needs: needsByProfile, policy: p, lostAfter: Double(setup.config.lostAfter.seconds), maxInfraRetries: setup.config.maxInfraRetries)
            w.earlyFinishMin = earlyFinish
            w.nodeMTBFHours = nodeMtbfHours
            w.repairHours = repairHours
            w.infraErrorRate = infraErrorRate
            w.dataBytes = dataBytes
            w.nodeBandwidth = Double(parseDecimalByteSize(nodeBandwidth)!)
            var o = PodiumDST.Simulation.Options(seed: seed)
            o.deadline = 100_000 * 3600
            o.maxSteps = .max
            return PodiumDST.Simulation(options: o, workload: w).run()
        }
        func firstPass(_ r: PodiumDST.Simulation.Result) -> [String: Double] {
            var out = [String: Double]()
            for spec in setup.runs where spec.attempt == 1 {
                let key = spec.budget.description
                out[key] = max(out[key] ?? 0, r.finishedAt[spec.id] ?? .infinity)
            }
            return out
        }
        let t0 = monotonicSeconds()
        let main = simulate(SchedulingPolicy(rawValue: policy)!)
        let wall = monotonicSeconds() - t0
        let fifo = simulate(.fifo)
        for r in [main, fifo] where !r.violations.isEmpty {
            printError("podium: simulate: the coordinator broke an invariant (a bug; please report it with this command):\n  " + r.violations.joined(separator: "\n  "))
        }
        let gpus = Double(capacity.gpus)
        let bound = PlanEstimate(runs: setup.runs.map { ($0.budget.seconds, needsByProfile[$0.profile]!.resources) }, capacity: capacity)
        let out = Output(cluster: synthetic ? "synthetic" : "inventory", runs: setup.runs.count, nodes: places.count, gpus: capacity.gpus, policy: policy,
                         makespan_hours: main.makespanHours, lower_bound_hours: bound.makespanLowerBoundHours,
                         makespan_over_lower_bound: main.makespanHours / bound.makespanLowerBoundHours,
                         utilization: gpus > 0 ? main.busyGPUSeconds / (gpus * main.makespanHours * 3600) : nil, first_pass1_hours: firstPass(main),
                         fifo_makespan_hours: fifo.makespanHours, fifo_first_pass1_hours: firstPass(fifo),
                         fifo_utilization: gpus > 0 ? fifo.busyGPUSeconds / (gpus * fifo.makespanHours * 3600) : nil, attempts: main.attempts,
                         requeued: main.attempts - main.runs, decisions: main.decisions, wall_seconds: wall,
                         completed: main.completed, infra_failed: main.runs - main.completed, events: main.steps)
        var o = out
        if !dataBytes.isEmpty {
            let minBytes = Double(dataBytes.values.reduce(0, +))
            o.bytes_staged_tb = Double(main.bytesStaged) / 1e12
            o.min_bytes_tb = minBytes / 1e12
            o.all_to_all_tb = minBytes * Double(places.count) / 1e12
            o.staging_hours = main.stagingHours
            o.node_disk_tb = disk.map { Double($0) / 1e12 }
            o.node_bandwidth_mb_per_s = Double(parseDecimalByteSize(nodeBandwidth)!) / 1e6
            o.fifo_bytes_staged_tb = Double(fifo.bytesStaged) / 1e12
        }
        try printOutput(o, bound: bound, places: places, capacity: capacity, setup: setup, wall: wall)
    }

    func printOutput(_ out: Output, bound: PlanEstimate, places: [CoordinatorInstance.PlaceSpec], capacity: Resources, setup: SweepSetup, wall: Double) throws {
        if format == .json { try printJSON(out); return }
        if synthetic {
            print("\(out.runs) runs on a synthetic cluster of \(places.count) nodes × \(gpusPerNode ?? 8) GPUs (\(gpusPerRun ?? 1) GPU per run); lower bound \(fixed(out.lower_bound_hours, 1)) h")
        } else {
            print("\(out.runs) runs on the inventory \(setup.config.inventory) (\(places.count) nodes, \(capacity.gpus) GPUs, \(fixed(capacity.cpus, 0)) CPUs; each run takes its profile's); lower bound \(fixed(out.lower_bound_hours, 2)) h")
        }
        let budgets = out.first_pass1_hours.keys.sorted { (BudgetDuration(parsing: $0)?.seconds ?? 0) < (BudgetDuration(parsing: $1)?.seconds ?? 0) }
        let header: [String] = ["policy", "makespan h", "÷ lower bound", "utilization"] + budgets.map { "pass@1 \($0) ready h" }
        let mainRow: [String] = [policy, fixed(out.makespan_hours, 1), fixed(out.makespan_over_lower_bound, 3), out.utilization.map { fixed(100 * $0, 1) + "%" } ?? "-"]
            + budgets.map { fixed(out.first_pass1_hours[$0] ?? .infinity, 1) }
        let fifoRow: [String] = ["fifo", fixed(out.fifo_makespan_hours, 1), fixed(out.fifo_makespan_hours / bound.makespanLowerBoundHours, 3),
                                 out.fifo_utilization.map { fixed(100 * $0, 1) + "%" } ?? "-"] + budgets.map { fixed(out.fifo_first_pass1_hours[$0] ?? .infinity, 1) }
        print(TextTable.render(header: header, rows: [mainRow, fifoRow]))
        if let staged = out.bytes_staged_tb, let minimum = out.min_bytes_tb, let all = out.all_to_all_tb {
            print("data staged: \(fixed(staged, 2)) TB (each dataset once: \(fixed(minimum, 2)) TB; to every node: \(fixed(all, 1)) TB; \(fixed(staged / max(minimum, 1e-12), 2))× the minimum); \(fixed(out.staging_hours ?? 0, 1)) node-hours copying at \(nodeBandwidth)\(out.node_disk_tb.map { ", \(fixed($0, 2)) TB cache per node" } ?? "")")
        }
        print("simulated in \(fixed(wall, 2)) s (\(out.decisions) decisions, \(out.events) coordinator events, \(out.requeued) attempts beyond one per run, \(out.completed) runs completed)")
    }
}
