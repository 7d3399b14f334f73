import ArgumentParser
import PodiumCoordinator
import PodiumCore
import PodiumSystem
import PodiumReport
import PodiumScheduler
import PodiumDST

struct Plan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Expand a sweep into its grid and estimate its cost before launch.")

    @OptionGroup var sweep: SweepOptions
    @Option(help: "text or json.") var format: OutputFormat = .text
    @Flag(help: "Do not connect to the nodes (worker, Docker, the agent image, declared resources).") var skipNodeChecks = false
    @Option(help: "Staging bandwidth of each node, for inventories with a data_cache, e.g. 100MB/s.") var nodeBandwidth: String = "100MB/s"

    func validate() throws {
        guard let bw = parseDecimalByteSize(nodeBandwidth), bw > 0 else {
            throw ValidationError("--node-bandwidth: '\(nodeBandwidth)' is not a rate such as 100MB/s")
        }
    }

    struct Output: Encodable {
        var sweep: String
        var runs: Int
        var competitions: Int
        var attempts: Int
        var budgets_hours: [Double]
        var profiles: [String]
        var nodes: Int
        var gpus: Int
        var cpus: Double
        var gpu_hours: Double
        var cpu_hours: Double
        var makespan_lower_bound_hours: Double
        /// The same grid simulated on the inventory with the real scheduler (full budgets, no failures).
        var simulated_makespan_hours: Double
        var first_pass1_hours: [String: Double]
        var splits: [String: Int]
        var note: String
        /// With a data_cache in the inventory: the coordinator's own instance simulated on it with lazy staging at
        /// --node-bandwidth (dataset sizes from the mle-bench checkout).
        var staged_makespan_hours: Double?
        var bytes_staged_tb: Double?
        var min_bytes_tb: Double?
        var staging_hours: Double?
    }

    func run() throws {
        let setup = try SweepSetup.load(configPath: sweep.config, overrides: sweep.overrides)
        try runPreflight(setup, probeNodes: !skipNodeChecks)
        let est = setup.estimate
        let profiles = setup.profilesByName
        let sim = PodiumScheduler.Simulation(
            nodes: setup.inventory.nodes.map { PodiumScheduler.Simulation.Node(name: $0.name, capacity: Resources($0)) },
            runs: setup.runs.enumerated().map { i, r in
                QueuedRun(id: r.id, competition: r.competition, attempt: r.attempt, budgetSeconds: r.budget.seconds,
                          needs: Resources(profiles[r.profile]!), sequence: i)
            },
            policy: .firstAttemptsThenLongest).run()
        var splits = [String: Int]()
        for c in setup.competitions { splits[c.split ?? "custom", default: 0] += 1 }
        // Lazy staging where the inventory declares data caches: the coordinator's instance on the inventory.
        let lazyBytes = PodiumDST.Simulation.Workload.lazyDataBytes(setup)
        var staged: PodiumDST.Simulation.Result?
        if !lazyBytes.isEmpty {
            var w = PodiumDST.Simulation.Workload.inventory(setup, policy: .firstAttemptsThenLongest, dataBytes: lazyBytes)
            w.nodeBandwidth = Double(parseDecimalByteSize(nodeBandwidth)!)
            var o = PodiumDST.Simulation.Options(seed: 1)
            o.deadline = 100_000 * 3600
            o.maxSteps = .max
            staged = PodiumDST.Simulation(options: o, workload: w).run()
        }
        var out = Output(
            sweep: setup.config.sweep, runs: est.runs, competitions: setup.competitions.count, attempts: setup.config.attempts,
            budgets_hours: setup.config.budgets.map(\.hours), profiles: setup.config.hardware.map(\.name),
            nodes: setup.inventory.nodes.count, gpus: setup.inventory.totalGPUs,
            cpus: setup.inventory.nodes.reduce(0) { $0 + $1.cpus },
            gpu_hours: est.gpuHours, cpu_hours: est.cpuHours, makespan_lower_bound_hours: est.makespanLowerBoundHours,
            simulated_makespan_hours: sim.makespan_hours, first_pass1_hours: sim.first_pass1_hours,
            splits: splits,
            note: "lower bound = max(resource-hours ÷ capacity, longest run); simulated = this grid on this inventory with podium's scheduler, full budgets, no failures")
        if let staged {
            out.staged_makespan_hours = staged.makespanHours
            out.bytes_staged_tb = Double(staged.bytesStaged) / 1e12
            out.min_bytes_tb = Double(lazyBytes.values.reduce(0, +)) / 1e12
            out.staging_hours = staged.stagingHours
        }
        if format == .json { try printJSON(out); return }
        print("sweep \(out.sweep): \(plural(out.runs, "run")) = \(plural(out.competitions, "competition")) × \(plural(setup.config.budgets.count, "budget")) × \(plural(out.profiles.count, "profile")) × \(plural(out.attempts, "attempt"))")
        print("budgets: \(setup.config.budgets.map(\.description).joined(separator: ", ")); profiles: \(out.profiles.joined(separator: ", "))")
        print("inventory: \(plural(out.nodes, "node")), \(out.gpus) GPUs, \(out.cpus) CPUs")
        print("GPU-hours: \(fixed(out.gpu_hours, 2)); CPU-hours: \(fixed(out.cpu_hours, 2))")
        print("makespan lower bound: \(fixed(out.makespan_lower_bound_hours, 3)) h (\(fixed(out.makespan_lower_bound_hours * 60, 1)) min); simulated: \(fixed(out.simulated_makespan_hours, 3)) h")
        print("splits: " + splits.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        if let m = out.staged_makespan_hours, let b = out.bytes_staged_tb, let minimum = out.min_bytes_tb {
            print("with lazy staging into the nodes' data caches at \(nodeBandwidth): makespan \(fixed(m, 2)) h; \(fixed(b, 3)) TB staged (each dataset once: \(fixed(minimum, 3)) TB), \(fixed(out.staging_hours ?? 0, 2)) node-hours copying")
        }
    }
}

struct Competitions: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the competitions of an mle-bench checkout (or a directory laid out like one).")

    @Option(help: "An mle-bench checkout (default: the mlebench_dir of ./scheduler.json).") var mlebenchDir: String?
    @Option(help: "Only this split (low, medium, high, split75, …).") var split: String?
    @Option(help: "text or json.") var format: OutputFormat = .text

    struct Row: Encodable {
        var id: String
        var name: String
        var split: String?
        var splits: [String]
        var grader: String?
        var engine: String
        var leaderboard: Bool
    }

    func run() throws {
        let dir = try mlebenchDirOrDefault(mlebenchDir)
        let reg = try CompetitionRegistry.load(mlebenchDir: dir)
        let ids = try split.map { try reg.ids(inSplit: $0, source: "--split") } ?? reg.competitions.keys.sorted()
        let rows: [Row] = ids.compactMap { id in
            guard let c = reg.competitions[id] else { return nil }
            return Row(id: c.id, name: c.name, split: c.split, splits: c.splits, grader: c.graderName,
                       engine: GraderDescription.engine(for: c), leaderboard: c.leaderboardPath != nil)
        }
        if format == .json { try printJSON(rows); return }
        print(TextTable.render(header: ["id", "split", "grader", "engine", "leaderboard"],
                                   rows: rows.map { [$0.id, $0.split ?? "-", $0.grader ?? "-", $0.engine, $0.leaderboard ? "yes" : "missing"] }))
        print("\(rows.count) competitions")
    }
}
