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
import PodiumSystem

@main
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "podium-worker",
        abstract: "podium's worker: runs agent attempts on this node under a budget and returns their artifacts.",
        version: podiumVersion,
        subcommands: [Daemon.self, Attach.self, Stop.self, Serve.self, Run.self, Stage.self])

    /// Usage and config errors exit 2 with a message naming the flag, as `podium`'s do; other failures exit 1.
    static func main() {
        do {
            var arguments = Array(CommandLine.arguments.dropFirst())
            try Diagnostics.bootstrap(arguments: &arguments)
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch let e as ConfigError {
            printError("podium-worker: \(e.description)")
            Glibc.exit(2)
        } catch let e as UsageError {
            printError("podium-worker: \(e.description)")
            Glibc.exit(2)
        } catch {
            if exitCode(for: error) == .validationFailure {
                printError(fullMessage(for: error))
                Glibc.exit(2)
            }
            exit(withError: error)
        }
    }
}

/// Exit code 2 for usage/config errors, as in `podium`.
struct UsageError: Error, CustomStringConvertible {
    var description: String
}

extension ParsableArguments {
    static func failUsage(_ message: String) -> ExitCode {
        printError("error: \(message)")
        return ExitCode(2)
    }
}

/// What defines a node's worker; shared by daemon, attach (which starts the daemon with them) and serve.
struct NodeOptions: ParsableArguments {
    @Option(help: "Node name, as in the inventory.") var node: String = "local"
    @Option(help: "Directory for attempt files (submission, logs, code, snapshots) and the daemon's socket.") var workDir: String = "/var/lib/podium-worker"
    @Option(help: "Declared GPU slots, used only when nvidia-smi finds no GPU (a stand-in for scheduling on machines without GPUs).") var gpus: Int = 0
    @Option(help: "CPUs to report.") var cpus: Double = 1
    @Option(help: "Memory to report, e.g. 16g.") var memory: String = "8g"
    @Option(help: "Scratch disk for attempts, e.g. 500g (reserved per attempt by profiles' disk; default: no limit).") var disk: String?
    @Option(help: "Seconds freed room is held for a sweep below its fair share before any sweep may take it (0: first come, first served).") var fairnessWindow: Double = 30
    @Option(help: "Docker Engine socket (default: DOCKER_HOST or /var/run/docker.sock).") var dockerSocket: String?
    @Option(help: "docker (isolated containers), process (no isolation; for machines without Docker) or slurm (one Slurm job per attempt; run on the cluster's login node with --work-dir on the shared filesystem).") var runtime: String = "docker"
    @Option(help: "With --runtime slurm: the inventory node's \"slurm\" settings as JSON (partition, account, qos, constraint, sbatch_args, gpu_flag, conf, time_margin).") var slurm: String?

    var socketPath: String { workDir + "/daemon.sock" }

    /// The same options, to start a daemon with.
    var arguments: [String] {
        ["--node", node, "--work-dir", workDir, "--gpus", String(gpus), "--cpus", String(cpus), "--memory", memory,
         "--runtime", runtime, "--fairness-window", String(fairnessWindow)] + (disk.map { ["--disk", $0] } ?? []) + (dockerSocket.map { ["--docker-socket", $0] } ?? []) + (slurm.map { ["--slurm", $0] } ?? [])
    }

    func slurmSettings() throws -> SlurmSettings? {
        guard let slurm else { return nil }
        do { return try JSONDecoder().decode(SlurmSettings.self, from: Data(slurm.utf8)) } catch {
            throw WorkerCommand.failUsage("--slurm: \(error)")
        }
    }

    /// The node's server with its GPUs discovered, orphaned containers removed and unfinished attempts taken over.
    func makeServer(stopOnDisconnect: Bool, output: FrameWriter?) throws -> WorkerServer {
        guard let mem = parseByteSize(memory) else { throw WorkerCommand.failUsage("--memory: '\(memory)' is not a size such as 16g") }
        var diskBytes: Int64?
        if let disk {
            guard let d = parseByteSize(disk) else { throw WorkerCommand.failUsage("--disk: '\(disk)' is not a size such as 500g") }
            diskBytes = d
        }
        guard let rt = makeRuntime(runtime, dockerSocket: dockerSocket, slurm: try slurmSettings(), workDir: workDir) else {
            throw WorkerCommand.failUsage("--runtime \(runtime): expected docker, process or slurm")
        }
        do { try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true) } catch {
            throw WorkerCommand.failUsage("--work-dir \(workDir): cannot create it (\(error))")
        }
        let devices = GPUInventory.resolve(declared: gpus)
        printError("podium-worker[\(node)]: runtime \(rt.name); GPUs: " + (devices.isEmpty ? "none"
            : devices.map { "\($0.index) \($0.name) \($0.uuid)" }.joined(separator: "; ")))
        if rt is ProcessRuntime { printError("podium-worker[\(node)]: warning: \(ProcessRuntime.warning)") }
        let server = WorkerServer(node: node, workDir: absolutePath(workDir), runtime: rt, output: output, version: podiumVersion,
                                  capacity: (cpus, mem), gpus: devices, diskBytes: diskBytes,
                                  fairnessWindow: fairnessWindow, stopOnDisconnect: stopOnDisconnect)
        if rt is DockerRuntime { server.removeOrphans(engine: DockerEngine(socketPath: dockerSocket)) }
        server.recover()
        return server
    }
}

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve one coordinator on stdin/stdout and stop its attempts when it goes (no daemon).")
    @OptionGroup var options: NodeOptions

    func run() throws {
        // The coordinator's Ctrl-C reaches this child too; it ends on EOF instead, after stopping its attempts.
        signal(SIGINT, SIG_IGN)
        signal(SIGPIPE, SIG_IGN)
        let server = try options.makeServer(stopOnDisconnect: true, output: FrameWriter(fd: 1))
        server.serve(input: FrameReader(fd: 0))
    }
}

struct Daemon: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The node's long-lived worker: owns its attempts across coordinator disconnects and its own restarts.",
        discussion: "Listens on <work-dir>/daemon.sock; coordinators reach it through `podium-worker attach`. One daemon per work directory.")
    @OptionGroup var options: NodeOptions

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        try FileManager.default.createDirectory(atPath: options.workDir, withIntermediateDirectories: true)
        let lock = open(options.workDir + "/daemon.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lock >= 0, flock(lock, LOCK_EX | LOCK_NB) == 0 else {
            printError("podium-worker daemon: another daemon already serves \(options.workDir)")
            throw ExitCode(1)
        }
        try String(getpid()).write(toFile: options.workDir + "/daemon.pid", atomically: true, encoding: .utf8)
        let server = try options.makeServer(stopOnDisconnect: false, output: nil)
        let listener = try UnixSocket.listen(path: options.socketPath)
        printError("podium-worker[\(options.node)]: daemon \(getpid()) listening on \(options.socketPath)")
        let socketPath = options.socketPath
        BlockingThread.start {
            while true {
                sleepSeconds(1)
                if server.exitRequested.withLock({ $0 }) && server.liveCount == 0 && server.connectionCount == 0 {
                    printError("podium-worker[\(server.node)]: idle and asked to exit")
                    unlink(socketPath)
                    Glibc.exit(0)
                }
            }
        }
        while true {
            let fd: Int32
            do { fd = try retryingEINTR("accept") { accept(listener, nil, nil) } } catch { throw WorkerCommand.failUsage(error.description) }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            BlockingThread.start {
                server.serve(input: FrameReader(fd: fd), output: FrameWriter(fd: fd))
                close(fd)
            }
        }
    }
}

struct Attach: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bridge stdin/stdout to the node's daemon, starting it first if none runs (what the coordinator runs).")
    @OptionGroup var options: NodeOptions

    func run() throws {
        signal(SIGINT, SIG_IGN)
        signal(SIGPIPE, SIG_IGN)
        // Told apart from the daemon in top/perf (the main thread's name; threads started later inherit it).
        _ = try? "podium-attach".write(toFile: "/proc/self/comm", atomically: false, encoding: .utf8)
        var fd = UnixSocket.connect(path: options.socketPath)
        if fd < 0 {
            try FileManager.default.createDirectory(atPath: options.workDir, withIntermediateDirectories: true)
            let log = options.workDir + "/daemon.log"
            let me = currentExecutablePath()
            _ = try ChildProcess(arguments: ["/bin/sh", "-c", "exec \"$@\" </dev/null >>\(shellQuote(log)) 2>&1", "sh", me, "daemon"] + options.arguments,
                                 stdinPipe: false, stdoutPipe: false, newSession: true)
            let until = monotonicSeconds() + 20
            while fd < 0 && monotonicSeconds() < until { sleepSeconds(0.05); fd = UnixSocket.connect(path: options.socketPath) }
            guard fd >= 0 else {
                printError("podium-worker attach: the daemon did not come up; see \(log)")
                throw ExitCode(1)
            }
        }
        let sock = fd
        BlockingThread.start {
            copyAll(from: 0, to: sock)
            shutdown(sock, Int32(SHUT_WR))
        }
        // Bulk log data flows daemon → here → sshd: a deeper stdout pipe (when it is one) and larger reads mean fewer
        // wake-ups per MiB on both sides.
        _ = fcntl(1, 1031 /* F_SETPIPE_SZ */, Int32(1 << 20))
        copyAll(from: sock, to: 1, bufferSize: 1 << 20)
    }
}

struct Stop: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stop the node's daemon (its attempts keep running and are taken over by the next daemon).")
    @Option(help: "The daemon's work directory.") var workDir: String = "/var/lib/podium-worker"

    func run() throws {
        guard let text = try? String(contentsOfFile: workDir + "/daemon.pid", encoding: .utf8),
              let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), kill(pid, 0) == 0 else {
            printError("podium-worker stop: no daemon runs for \(workDir)")
            return
        }
        kill(pid, SIGTERM)
        let until = monotonicSeconds() + 10
        while kill(pid, 0) == 0 && monotonicSeconds() < until { sleepSeconds(0.05) }
        if kill(pid, 0) == 0 { kill(pid, SIGKILL) }
        unlink(workDir + "/daemon.sock")
    }
}


/// Unix-domain stream sockets for the daemon.
enum UnixSocket {
    static func address(_ path: String) -> sockaddr_un? {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            raw[bytes.count] = 0
        }
        return addr
    }

    /// A connected socket, or −1.
    static func connect(path: String) -> Int32 {
        guard var addr = address(path) else { return -1 }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return -1 }
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        if rc != 0 { close(fd); return -1 }
        return fd
    }

    static func listen(path: String) throws -> Int32 {
        guard var addr = address(path) else { throw WorkerCommand.failUsage("socket path too long: \(path)") }
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        guard rc == 0, Glibc.listen(fd, 16) == 0 else { throw WorkerCommand.failUsage("cannot listen on \(path): \(SystemError.text(errno))") }
        chmod(path, 0o600)
        return fd
    }
}

func makeRuntime(_ name: String, dockerSocket: String?, slurm: SlurmSettings? = nil, workDir: String = ".") -> (any AgentRuntime)? {
    switch RuntimeKind(rawValue: name) {
    case .docker: return DockerRuntime(engine: DockerEngine(socketPath: dockerSocket))
    case .process: return ProcessRuntime()
    case .slurm: return SlurmRuntime(settings: slurm ?? SlurmSettings(), workDir: absolutePath(workDir))
    case nil: return nil
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
        // A name of its own per run: an earlier ad-hoc run's container (kept by a crash) never blocks this one.
        let runID = "adhoc-\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        let req = StartRequest(runID: runID, epoch: 1, sweep: "adhoc", competition: competition, image: image, command: command,
                               env: envMap, dataDir: data, budgetSeconds: b.seconds, graceSeconds: g.seconds,
                               snapshotIntervalSeconds: si.seconds, cpus: cpus, memoryBytes: mem, shmBytes: 256 << 20,
                               gpus: gpus, network: network)
        let layout = AttemptLayout(flatRoot: out)
        // The supervisor's log replies only say the log grew (as they wake the daemon's followers); the bytes are in
        // agent.log, printed from where the last wake-up stopped.
        let logFD = Locked<Int32>(-1)
        let printNewLog: @Sendable () -> Void = {
            logFD.withLock { fd in
                if fd < 0 { fd = open(layout.agentLog, O_RDONLY | O_CLOEXEC) }
                if fd >= 0 { copyAll(from: fd, to: 1, bufferSize: 1 << 20) }
            }
        }
        let sup = RunSupervisor(request: req, layout: layout, runtime: rt, labels: ["podium.adhoc": "1"],
                                gpus: Array(devices.prefix(gpus))) { reply in
            if case .log = reply { printNewLog() }
        }
        // Ctrl-C or SIGTERM stops the agent as its budget would (SIGTERM, the grace period, SIGKILL) and removes its
        // container; a second one kills it at once. Blocked here, before any thread starts, and taken by sigwait.
        var mask = sigset_t()
        sigemptyset(&mask)
        sigaddset(&mask, SIGINT)
        sigaddset(&mask, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &mask, nil)
        let graceText = g.description
        let blocked = mask
        BlockingThread.start {
            var m = blocked
            var sig: Int32 = 0
            var count = 0
            while sigwait(&m, &sig) == 0 {
                count += 1
                if count == 1 {
                    printError("podium-worker: signal \(sig): stopping the agent (SIGTERM, SIGKILL after \(graceText)); again to kill it now")
                    sup.cancel()
                } else {
                    printError("podium-worker: signal \(sig) again: killing the agent now")
                    sup.killNow()
                }
            }
        }
        let result = sup.run()
        printNewLog()
        logFD.withLock { if $0 >= 0 { close($0) } }
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
        if result.outcome == .cancelled { throw ExitCode(130) }
    }
}

struct Stage: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fetch a competition's public data into this node's data cache from a shared path or an http:// mirror, given the coordinator's manifest (JSON) on stdin; every file is checked against its sha256 before it is kept. Prints one JSON result line.",
        discussion: "podium runs this over SSH when an inventory node's data_cache has a \"source\". An interrupted pull resumes: verified files are kept, a partly fetched file continues from its length (an HTTP byte range).")

    @Option(help: "Where the files come from: a directory (shared filesystem) or an http:// URL prefix.") var source: String
    @Option(help: "The directory that receives them (the node's <data_cache>/<competition>/prepared/public).") var dest: String

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        guard source.hasPrefix("/") || source.hasPrefix("http://") else {
            throw Self.failUsage("--source '\(source)': expected an absolute directory or an http:// URL prefix")
        }
        guard dest.hasPrefix("/") else { throw Self.failUsage("--dest '\(dest)': expected an absolute directory") }
        var input = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(0, &buf, buf.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            input += buf[0..<n]
        }
        guard let manifest = try? JSONDecoder().decode(DataManifest.self, from: Data(input)) else {
            throw Self.failUsage("stdin: expected the coordinator's data manifest as JSON ({\"files\": [{\"path\", \"size\", \"sha256\"}]})")
        }
        let result = DataPull.run(manifest: manifest, source: source, dest: dest) { printError("podium-worker stage: \($0)") }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        print(String(decoding: try enc.encode(result), as: UTF8.self))
        if !result.ok { throw ExitCode(1) }
    }
}
