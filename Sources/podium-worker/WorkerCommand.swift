import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import PodiumCore
import PodiumProtocol
import PodiumWorker

@main
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "podium-worker",
        abstract: "podium's worker: runs agent attempts on this node under a budget and returns their artifacts.",
        version: podiumVersion,
        subcommands: [Serve.self, Run.self, Attach.self])
}

/// Exit code 2 for usage/config errors, as in `podium`.
struct UsageError: Error, CustomStringConvertible {
    var description: String
}

extension ParsableCommand {
    static func failUsage(_ message: String) -> ExitCode {
        printError("error: \(message)")
        return ExitCode(2)
    }
}

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the coordinator's frame protocol on stdin/stdout (what the local transport starts).")

    @Option(help: "Node name, as in the inventory.") var node: String = "local"
    @Option(help: "Directory for attempt files (submission, logs, code, snapshots).") var workDir: String = "/var/lib/podium-worker"
    @Option(help: "Declared GPU slots, used only when nvidia-smi finds no GPU (a stand-in for scheduling on machines without GPUs).") var gpus: Int = 0
    @Option(help: "CPUs to report.") var cpus: Double = 1
    @Option(help: "Memory to report, e.g. 16g.") var memory: String = "8g"
    @Option(help: "Docker Engine socket (default: DOCKER_HOST or /var/run/docker.sock).") var dockerSocket: String?
    @Option(help: "docker (isolated containers) or process (no isolation; for machines without Docker).") var runtime: String = "docker"

    func run() throws {
        guard let mem = parseByteSize(memory) else { throw Self.failUsage("--memory: '\(memory)' is not a size such as 16g") }
        guard let rt = makeRuntime(runtime, dockerSocket: dockerSocket) else {
            throw Self.failUsage("--runtime \(runtime): expected docker or process")
        }
        // The coordinator's Ctrl-C reaches this child too; the worker ends on EOF instead, after stopping its attempts.
        signal(SIGINT, SIG_IGN)
        signal(SIGPIPE, SIG_IGN)
        do { try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true) } catch {
            throw Self.failUsage("--work-dir \(workDir): cannot create it (\(error))")
        }
        let devices = GPUInventory.resolve(declared: gpus)
        printError("podium-worker[\(node)]: runtime \(rt.name); GPUs: " + (devices.isEmpty ? "none"
            : devices.map { "\($0.index) \($0.name) \($0.uuid)" }.joined(separator: "; ")))
        if rt is ProcessRuntime { printError("podium-worker[\(node)]: warning: \(ProcessRuntime.warning)") }
        let server = WorkerServer(node: node, workDir: workDir, runtime: rt, output: FrameWriter(fd: 1), version: podiumVersion,
                                  capacity: (cpus, mem), gpus: devices)
        if rt is DockerRuntime { server.removeOrphans(engine: DockerEngine(socketPath: dockerSocket)) }
        server.serve(input: FrameReader(fd: 0))
    }
}

func makeRuntime(_ name: String, dockerSocket: String?) -> (any AgentRuntime)? {
    switch name {
    case "docker": return DockerRuntime(engine: DockerEngine(socketPath: dockerSocket))
    case "process": return ProcessRuntime()
    default: return nil
    }
}

struct Attach: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bridge stdin/stdout to a long-lived worker daemon (not built yet: issue 4).")
    func run() throws {
        printError("podium-worker attach: the long-lived daemon is not built yet (issue 4); the local transport uses `podium-worker serve`.")
        throw ExitCode(3)
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one attempt in the foreground under the daemon's supervision code; print its log, then one JSON result.")

    @Option(help: "Agent image.") var image: String
    @Option(help: "Competition public data directory (mounted read-only at /home/data).") var dataDir: String
    @Option(help: "Wall-clock budget, e.g. 20s, 24h.") var budget: String
    @Option(help: "Snapshot interval, e.g. 5s.") var snapshotInterval: String = "60s"
    @Option(help: "Grace period after SIGTERM before SIGKILL.") var grace: String = "60s"
    @Option(help: "Directory that receives submission/, logs/, code/, snapshots/ and agent.log.") var outputDir: String
    @Option(help: "docker, or process (no isolation: for machines without Docker; the command runs on the host).") var runtime: String = "docker"
    @Option(help: "GPUs to pin for the attempt (from nvidia-smi; CUDA_VISIBLE_DEVICES under the process runtime).") var gpus: Int = 0
    @Option(name: .customLong("env"), help: "K=V passed to the agent (repeatable).") var env: [String] = []
    @Option(help: "Competition id passed as COMPETITION_ID.") var competition: String = "adhoc"
    @Option(help: "CPUs for the container.") var cpus: Double = 1
    @Option(help: "Memory limit, e.g. 2g.") var memory: String = "2g"
    @Flag(help: "Allow network access (default: none).") var network = false
    @Argument(parsing: .postTerminator, help: "Command to run in the container (after --).") var command: [String] = []

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        guard let b = BudgetDuration(parsing: budget) else { throw Self.failUsage("--budget: '\(budget)' is not a duration such as 20s or 24h") }
        guard let si = BudgetDuration(parsing: snapshotInterval) else { throw Self.failUsage("--snapshot-interval: '\(snapshotInterval)' is not a duration") }
        guard let g = BudgetDuration(parsing: grace) else { throw Self.failUsage("--grace: '\(grace)' is not a duration") }
        guard let mem = parseByteSize(memory) else { throw Self.failUsage("--memory: '\(memory)' is not a size such as 2g") }
        guard let rt = makeRuntime(runtime, dockerSocket: nil) else {
            throw Self.failUsage("--runtime \(runtime): expected docker or process")
        }
        if rt is ProcessRuntime { printError("podium-worker: warning: \(ProcessRuntime.warning)") }
        let devices = GPUInventory.resolve(declared: 0)
        guard devices.count >= gpus else {
            throw Self.failUsage("--gpus \(gpus): this machine has \(devices.count) GPU(s) (nvidia-smi)")
        }
        var envMap = [String: String]()
        for kv in env {
            guard let eq = kv.firstIndex(of: "=") else { throw Self.failUsage("--env '\(kv)': expected K=V") }
            envMap[String(kv[..<eq])] = String(kv[kv.index(after: eq)...])
        }
        let data = resolvePath(dataDir, relativeTo: FileManager.default.currentDirectoryPath)
        let out = resolvePath(outputDir, relativeTo: FileManager.default.currentDirectoryPath)
        let req = StartRequest(runID: "adhoc", epoch: 1, sweep: "adhoc", competition: competition, image: image, command: command,
                               env: envMap, dataDir: data, budgetSeconds: b.seconds, graceSeconds: g.seconds,
                               snapshotIntervalSeconds: si.seconds, cpus: cpus, memoryBytes: mem, shmBytes: 256 << 20,
                               gpus: gpus, network: network)
        let layout = AttemptLayout(flatRoot: out)
        let sup = RunSupervisor(request: req, layout: layout, runtime: rt, labels: ["podium.adhoc": "1"],
                                gpus: Array(devices.prefix(gpus))) { reply in
            if case .log(_, _, _, let chunk) = reply { chunk.withUnsafeBytes { _ = write(1, $0.baseAddress, $0.count) } }
        }
        let result = sup.run()
        struct Summary: Encodable {
            var outcome: String
            var exit_code: Int?
            var elapsed_seconds: Double
            var message: String?
            var snapshots: [SnapshotInfo]
            var submission_sha256: String?
            var log_bytes: Int64
            var output_dir: String
            var runtime: String
            var gpus: [GPUDevice]
        }
        let s = Summary(outcome: result.outcome.rawValue, exit_code: result.exitCode,
                        elapsed_seconds: (result.elapsedSeconds * 1000).rounded() / 1000, message: result.message,
                        snapshots: result.snapshots, submission_sha256: result.submissionSHA256, log_bytes: result.logBytes,
                        output_dir: out, runtime: rt.name, gpus: Array(devices.prefix(gpus)))
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        print("\n" + String(decoding: try enc.encode(s), as: UTF8.self))
        if result.outcome == .infraError { throw ExitCode(1) }
    }
}
