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
import PodiumSystem

/// Runs the agent as a plain process for machines without Docker. There is NO isolation: the agent sees the whole
/// machine, its network and files. The directory contract is kept through environment variables instead of mounts
/// (DATA_DIR, SUBMISSION_DIR, LOGS_DIR, CODE_DIR), and GPUs are pinned with CUDA_VISIBLE_DEVICES.
public struct ProcessRuntime: AgentRuntime {
    public var name: String { "process" }
    public static let warning = "process runtime: NO isolation — the agent runs as a plain process with this machine's files, network and privileges"

    public init() {}

    /// The directory contract as environment variables (for a plain process or a Slurm job): the agent's env, then
    /// COMPETITION_ID, TIME_LIMIT_SECS, DATA_DIR, SUBMISSION_DIR, LOGS_DIR, CODE_DIR and AGENT_SEED.
    static func contractEnvironment(_ r: StartRequest, layout: AttemptLayout, labels: [String: String]) -> [String: String] {
        var env = r.env
        env["COMPETITION_ID"] = r.competition
        env["TIME_LIMIT_SECS"] = String(r.budgetSeconds)
        env["DATA_DIR"] = r.dataDir
        env["SUBMISSION_DIR"] = layout.submissionDir
        env["LOGS_DIR"] = layout.logsDir
        env["CODE_DIR"] = layout.codeDir
        env["AGENT_SEED"] = labels["podium.attempt"] ?? "1"
        return env
    }

    /// A plain process is the child of the daemon that started it: a new daemon cannot wait for it or read its
    /// output, so it stops what is left of it and reports an infra error (the coordinator retries the run).
    public func adopt(_ record: AttemptRecord, services: AttemptServices) throws -> any AgentHandle {
        if let pid = Int32(record.identity), pid > 1 { kill(-pid, SIGKILL) }
        throw InfraFailure("the worker daemon restarted; the process runtime cannot re-adopt a running agent (stopped it)")
    }

    public func launch(_ r: StartRequest, layout: AttemptLayout, labels: [String: String], gpus: [GPUDevice],
                       services: AttemptServices) throws -> any AgentHandle {
        guard r.contract == nil else {
            throw InfraFailure("the \(r.contract!) container contract needs the docker runtime; this node runs agents as plain processes")
        }
        guard !r.command.isEmpty else { throw InfraFailure("the process runtime needs the agent's command (the sweep's agent.command)") }
        var env = ProcessInfo.processInfo.environment
        for (k, v) in Self.contractEnvironment(r, layout: layout, labels: labels) { env[k] = v }
        let real = gpus.filter { !$0.standIn }
        env["CUDA_VISIBLE_DEVICES"] = real.map(\.uuid).joined(separator: ",")
        env["PODIUM_GPUS"] = gpus.map(\.uuid).joined(separator: ",")
        do {
            let child = try ChildProcess(arguments: r.command, environment: env, workingDirectory: layout.codeDir,
                                         stdinPipe: false, stdoutPipe: true, stderr: .stdout, newProcessGroup: true)
            return ProcessHandle(child: child)
        } catch {
            throw InfraFailure("\(error)")
        }
    }
}

struct ProcessHandle: AgentHandle {
    let child: ChildProcess
    var identity: String { String(child.pid) }

    func poll() throws -> ExitStatus? { child.poll().map { ExitStatus(exitCode: Int($0), oomKilled: false) } }

    func signal(_ name: String) throws { child.signal(name == "SIGKILL" ? SIGKILL : SIGTERM) }

    func followOutput(_ sink: ([UInt8]) -> Void) throws {
        while true {
            var n = 0
            let chunk = [UInt8](unsafeUninitializedCapacity: 1 << 16) { p, count in
                n = (try? retryingEINTR("read") { read(child.stdoutFD, p.baseAddress, p.count) }) ?? -1
                count = max(0, n)
            }
            if n <= 0 { break }
            sink(chunk)
        }
        close(child.stdoutFD)
    }

    func cleanup() {
        // Whatever the agent left behind in its process group goes too.
        child.signal(SIGKILL)
    }
}
