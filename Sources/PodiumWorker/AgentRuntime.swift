#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import PodiumCore
import PodiumProtocol
import PodiumSystem

/// Where an attempt's files live on the node: `<work>/<sweep>/<run>/e<epoch>/`.
public struct AttemptLayout: Sendable {
    public let root: String
    public init(workDir: String, sweep: String, runID: String, epoch: Int) {
        root = "\(workDir)/\(sweep)/\(runID)/e\(epoch)"
    }
    /// A layout rooted directly at `root` (for `podium-worker run --output-dir`).
    public init(flatRoot: String) { root = flatRoot }
    public var submissionDir: String { root + "/submission" }
    public var logsDir: String { root + "/logs" }
    public var codeDir: String { root + "/code" }
    public var snapshotsDir: String { root + "/snapshots" }
    public var agentLog: String { root + "/agent.log" }
    public var submissionFile: String { submissionDir + "/submission.csv" }
    public var resultFile: String { root + "/result.json" }
    public var attemptFile: String { root + "/attempt.json" }
}

/// How the agent process ended, as the runtime reports it.
public struct ExitStatus: Sendable, Equatable {
    public var exitCode: Int
    public var oomKilled: Bool
    /// The agent's end was the infrastructure's doing (a Slurm job's node failed, it was preempted or cancelled by
    /// someone else): an infra error, retried, never a result.
    public var infraReason: String? = nil
}

/// A started agent the supervisor watches. All calls block; the supervisor calls them from its own thread.
public protocol AgentHandle: Sendable {
    /// What identifies it across a daemon restart: a container id, or a process id.
    var identity: String { get }
    /// nil while running.
    func poll() throws -> ExitStatus?
    func signal(_ name: String) throws
    /// Blocks, handing output bytes to `sink` until the agent's output ends.
    func followOutput(_ sink: ([UInt8]) -> Void) throws
    func cleanup()
    /// Requests the agent made to the contract's server, by path (empty without one).
    var requestsServed: [String: Int] { get }
    /// The image the agent runs (the engine's `sha256:…` id), for provenance; nil for a plain process.
    var imageDigest: String? { get }
    /// After the agent ended and its output stream closed: output the runtime stored beyond the first `received`
    /// bytes the stream delivered (a follow stream can close before the last bytes); nil when it cannot tell.
    func outputAfter(_ received: Int64) -> [UInt8]?
}

extension AgentHandle {
    public var requestsServed: [String: Int] { [:] }
    public var imageDigest: String? { nil }
    public func outputAfter(_ received: Int64) -> [UInt8]? { nil }
}

/// Starts agents: Docker containers (the isolation MLE-bench's contract assumes); a process runtime comes with issue 4.
public protocol AgentRuntime: Sendable {
    var name: String { get }
    /// Throws `InfraFailure` for anything that is the node's fault, not the agent's.
    /// `gpus` are the devices the worker reserved for this attempt (real or declared stand-in slots).
    /// Returns once the agent itself starts: its budget runs from then (setup has its own deadline,
    /// `request.setupTimeoutSeconds`).
    func launch(_ request: StartRequest, layout: AttemptLayout, labels: [String: String], gpus: [GPUDevice],
                services: AttemptServices) throws -> any AgentHandle
    /// Takes over an agent a previous daemon started (after a crash or restart); throws `InfraFailure` when it cannot.
    func adopt(_ record: AttemptRecord, services: AttemptServices) throws -> any AgentHandle
}

/// What the daemon persists about a started attempt (`attempt.json`), so a restarted daemon can take it over.
public struct AttemptRecord: Codable, Sendable {
    public var request: StartRequest
    public var labels: [String: String]
    public var gpus: [GPUDevice]
    public var runtime: String
    /// Container id or process id.
    public var identity: String
    /// Wall-clock start (Unix seconds): the budget runs from here, across restarts.
    public var startedAt: Double
}

/// A failure of the node or runtime (image missing, engine down, start failed): retried by the coordinator.
public struct InfraFailure: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ d: String) { description = d }
}

/// The Docker runtime: MLE-bench's container contract on the Engine API.
public struct DockerRuntime: AgentRuntime {
    public let engine: DockerEngine
    public var name: String { "docker" }
    public init(engine: DockerEngine = DockerEngine()) { self.engine = engine }

    public func adopt(_ record: AttemptRecord, services: AttemptServices) throws -> any AgentHandle {
        let state: DockerEngine.ContainerState
        do {
            state = try engine.inspect(record.identity)
        } catch {
            throw InfraFailure("container \(record.identity.prefix(12)) of \(record.request.runID) epoch \(record.request.epoch) is gone: \(error)")
        }
        var server: ValidationServer?
        if record.request.contract == MLEBenchContract.name, state.running {
            // The previous daemon's sockets died with it: serve /validate again in the same namespace.
            do { server = try ValidationServer.open(networkNamespaceOf: state.pid, relay: services.validate) } catch {
                throw InfraFailure("cannot serve the validation endpoint again for \(record.request.runID) epoch \(record.request.epoch): \(error)")
            }
        }
        return DockerHandle(engine: engine, id: record.identity, server: server, image: try? engine.containerImage(record.identity))
    }

    public func launch(_ r: StartRequest, layout: AttemptLayout, labels: [String: String], gpus: [GPUDevice],
                       services: AttemptServices) throws -> any AgentHandle {
        let deadline = monotonicSeconds() + Double(max(1, r.setupTimeoutSeconds))
        do {
            guard let imageID = try engine.imageID(r.image) else {
                throw InfraFailure("image '\(r.image)' is not on this node; build or load it (scripts/build-agent-images builds the bundled ones)")
            }
            var env = r.env
            env["COMPETITION_ID"] = r.competition
            env["TIME_LIMIT_SECS"] = String(r.budgetSeconds)
            env["SUBMISSION_DIR"] = "/home/submission"
            env["LOGS_DIR"] = "/home/logs"
            env["CODE_DIR"] = "/home/code"
            env["AGENT_SEED"] = String(labels["podium.attempt"] ?? "1")
            var spec = DockerEngine.CreateSpec(
                name: containerName(r, daemon: labels["podium.daemon"] ?? ""), image: r.image, command: r.command, env: env, labels: labels,
                binds: [(r.dataDir, "/home/data", true), (layout.submissionDir, "/home/submission", false),
                        (layout.logsDir, "/home/logs", false), (layout.codeDir, "/home/code", false)],
                nanoCPUs: Int64(r.cpus * 1e9), memoryBytes: r.memoryBytes, shmBytes: r.shmBytes, pidsLimit: r.pidsLimit,
                network: r.network, gpuUUIDs: gpus.filter { !$0.standIn }.map(\.uuid), workingDir: "/home")
            spec.ociRuntime = r.ociRuntime
            spec.user = r.user
            spec.privileged = r.privileged
            if r.contract == MLEBenchContract.name {
                var handle = try MLEBenchContract(engine: engine).launch(spec: spec, request: r, layout: layout, services: services, deadline: deadline)
                handle.image = imageID
                return handle
            }
            // A numeric non-root user must own the writable mounts.
            if let user = r.user, let uid = UInt32(user.split(separator: ":").first ?? "") {
                let gid = user.split(separator: ":").dropFirst().first.flatMap { UInt32($0) } ?? uid
                for d in [layout.submissionDir, layout.logsDir, layout.codeDir] { chown(d, uid, gid) }
            }
            let id = try engine.create(spec)
            do { try engine.start(id) } catch {
                try? engine.remove(id)
                throw error
            }
            return DockerHandle(engine: engine, id: id, image: imageID)
        } catch let e as EngineError {
            throw InfraFailure("\(e)")
        }
    }
}

struct DockerHandle: AgentHandle {
    let engine: DockerEngine
    let id: String
    var server: ValidationServer? = nil
    var image: String? = nil
    var identity: String { id }
    var imageDigest: String? { image }
    var requestsServed: [String: Int] { server?.served.withLock { $0 } ?? [:] }

    func poll() throws -> ExitStatus? {
        let s = try engine.inspect(id)
        return s.running ? nil : ExitStatus(exitCode: s.exitCode, oomKilled: s.oomKilled)
    }
    func signal(_ name: String) throws { try engine.kill(id, signal: name) }
    func followOutput(_ sink: ([UInt8]) -> Void) throws { try engine.followLogs(id, sink: sink) }
    func outputAfter(_ received: Int64) -> [UInt8]? { try? engine.logs(id, skip: received) }
    func cleanup() {
        server?.stop()
        try? engine.remove(id)
    }
}

/// A container's name on its engine: the run and epoch for people, and 8 hex digits of the daemon and sweep that own
/// it. Names are the engine's, shared by every daemon and sweep on it: two users' sweeps of one name and grid have the
/// same run ids, and without the digest the second's container would be refused as a name conflict (an infra error).
public func containerName(_ r: StartRequest, daemon: String) -> String {
    "podium-\(r.runID)-e\(r.epoch)-" + SHA256.hex(daemon + "/" + r.sweep).prefix(8)
}
