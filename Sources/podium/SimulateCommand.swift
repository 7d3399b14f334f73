import ArgumentParser
import PodiumCoordinator
import PodiumCore
import PodiumReport
import PodiumScheduler

struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Simulate a sweep on a cluster with the real scheduler and a virtual clock; compare with FIFO.",
        discussion: """
            Each run takes --gpus-per-run GPUs (default 1, as MLE-bench gives a run one GPU) for its budget (or a fraction of \
            it with --early-finish); CPUs and memory are not simulated. The FIFO baseline is MLE-bench's run_agent pool, \
            which takes runs in file order.
            """)

    @OptionGroup var sweep: SweepOptions
    @Option(help: "Nodes in the simulated cluster.") var nodes: Int = 20
    @Option(help: "GPUs per node.") var gpusPerNode: Int = 8
    @Option(help: "GPUs each run takes.") var gpusPerRun: Int = 1
    @Option(help: "Scheduling policy: \(SchedulingPolicy.allCases.map(\.rawValue).joined(separator: ", ")).") var policy: String = SchedulingPolicy.firstAttemptsThenLongest.rawValue
    @Option(help: "Runs use a uniform fraction of their budget between this and 1 (1: the full budget).") var earlyFinish: Double = 1
    @Option(help: "Mean hours between failures of a node (0: none).") var nodeMtbfHours: Double = 0
    @Option(help: "Hours a failed node is away.") var repairHours: Double = 2
    @Option(help: "Probability that an attempt dies of an infra error (then it is retried).") var infraErrorRate: Double = 0
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: "text or json.") var format: OutputFormat = .text

    struct Output: Encodable {
        var runs: Int
        var nodes: Int
        var gpus: Int
        var policy: String
        var makespan_hours: Double
        var lower_bound_hours: Double
        var makespan_over_lower_bound: Double
        var utilization: Double
        var first_pass1_hours: [String: Double]
        var fifo_makespan_hours: Double
        var fifo_first_pass1_hours: [String: Double]
        var fifo_utilization: Double
        var attempts: Int
        var requeued: Int
        var decisions: Int
        var wall_seconds: Double
    }

    func validate() throws {
        guard nodes > 0 else { throw ValidationError("--nodes must be ≥ 1") }
        guard gpusPerNode > 0, gpusPerRun > 0, gpusPerRun <= gpusPerNode else { throw ValidationError("need 1 ≤ --gpus-per-run ≤ --gpus-per-node") }
        guard earlyFinish > 0 && earlyFinish <= 1 else { throw ValidationError("--early-finish must be in (0, 1]") }
        guard SchedulingPolicy(rawValue: policy) != nil else {
            throw ValidationError("--policy: '\(policy)' is not one of \(SchedulingPolicy.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() throws {
        let setup = try SweepSetup.load(configPath: sweep.config, overrides: sweep.overrides)
        let needs = Resources(gpus: gpusPerRun, cpus: 0, memoryBytes: 0)
        let queued = setup.runs.enumerated().map { i, r in
            QueuedRun(id: r.id, competition: r.competition, attempt: r.attempt, budgetSeconds: r.budget.seconds, needs: needs, sequence: i)
        }
        let cluster = (0..<nodes).map { Simulation.Node(name: "n\($0)", capacity: Resources(gpus: gpusPerNode, cpus: 1e9, memoryBytes: 0)) }
        func simulate(_ p: SchedulingPolicy) -> Simulation.Result {
            var sim = Simulation(nodes: cluster, runs: queued, policy: p)
            sim.earlyFinishMin = earlyFinish
            sim.failures.nodeMTBFHours = nodeMtbfHours
            sim.failures.repairHours = repairHours
            sim.failures.infraErrorRate = infraErrorRate
            sim.seed = seed
            return sim.run()
        }
        let t0 = monotonicSeconds()
        let main = simulate(SchedulingPolicy(rawValue: policy)!)
        let wall = monotonicSeconds() - t0
        let fifo = simulate(.fifo)
        let bound = PlanEstimate(runs: queued.map { ($0.budgetSeconds, needs) }, capacity: Resources(gpus: nodes * gpusPerNode, cpus: 0, memoryBytes: 0))
        let out = Output(runs: queued.count, nodes: nodes, gpus: nodes * gpusPerNode, policy: policy,
                         makespan_hours: main.makespan_hours, lower_bound_hours: bound.makespanLowerBoundHours,
                         makespan_over_lower_bound: main.makespan_hours / bound.makespanLowerBoundHours,
                         utilization: main.utilization, first_pass1_hours: main.first_pass1_hours,
                         fifo_makespan_hours: fifo.makespan_hours, fifo_first_pass1_hours: fifo.first_pass1_hours,
                         fifo_utilization: fifo.utilization, attempts: main.attempts, requeued: main.requeued,
                         decisions: main.decisions, wall_seconds: wall)
        if format == .json { try printJSON(out); return }
        print("\(out.runs) runs on \(nodes) nodes × \(gpusPerNode) GPUs (\(gpusPerRun) GPU per run); lower bound \(fixed(out.lower_bound_hours, 1)) h")
        let budgets = main.first_pass1_hours.keys.sorted { (BudgetDuration(parsing: $0)?.seconds ?? 0) < (BudgetDuration(parsing: $1)?.seconds ?? 0) }
        print(TextTable.render(
            header: ["policy", "makespan h", "÷ lower bound", "utilization"] + budgets.map { "pass@1 \($0) ready h" },
            rows: [[policy, fixed(main.makespan_hours, 1), fixed(out.makespan_over_lower_bound, 3), fixed(100 * main.utilization, 1) + "%"]
                    + budgets.map { fixed(main.first_pass1_hours[$0] ?? .infinity, 1) },
                   ["fifo", fixed(fifo.makespan_hours, 1), fixed(fifo.makespan_hours / bound.makespanLowerBoundHours, 3), fixed(100 * fifo.utilization, 1) + "%"]
                    + budgets.map { fixed(fifo.first_pass1_hours[$0] ?? .infinity, 1) }]))
        print("simulated in \(fixed(wall, 2)) s (\(main.decisions) decisions, \(main.requeued) requeued)")
    }
}
