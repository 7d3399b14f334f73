#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodiumCore

/// Version of the coordinator↔worker frame protocol. Bump on any incompatible change.
public let podiumProtocolVersion = 6

/// What a worker needs to start one attempt of a run.
public struct StartRequest: Codable, Sendable, Equatable {
    public var runID: String
    public var epoch: Int
    public var sweep: String
    public var competition: String
    public var image: String
    public var command: [String]
    /// Agent env plus secret values; secrets are never logged by the worker.
    public var env: [String: String]
    public var secretNames: [String]
    /// Path on the node of the competition's public data (mounted read-only at /home/data).
    public var dataDir: String
    public var budgetSeconds: Int
    public var graceSeconds: Int
    public var snapshotIntervalSeconds: Int
    public var cpus: Double
    public var memoryBytes: Int64
    public var shmBytes: Int64
    public var gpus: Int
    public var network: Bool
    /// OCI runtime (runc, sysbox-runc, runsc, …); nil: the engine's default.
    public var ociRuntime: String? = nil
    /// "uid[:gid]" or a user name known to the image; nil: the image's user.
    public var user: String? = nil
    /// Most processes the agent may run at once (stops fork bombs).
    public var pidsLimit: Int64 = 4096
    /// The container contract: nil is podium's own (the image's command runs as given); "mlebench" is MLE-bench's (podium
    /// does what its entrypoint does, serves /health and /validate on port 5000 inside the container, then runs
    /// `bash /home/agent/start.sh <arguments>` as `nonroot`).
    public var contract: String? = nil
    /// The start script's arguments under the mlebench contract (the agent config's kwargs).
    public var startArguments: [String] = []
    /// MLE-bench's `privileged: true` agents.
    public var privileged: Bool = false
    /// Image check, container creation and the contract's setup must finish within this; the budget starts after.
    public var setupTimeoutSeconds: Int = 600
    /// Scratch disk the profile asks for (`disk`), reserved in the node's ledger (protocol 6; 0: none declared).
    public var diskBytes: Int64 = 0

    public init(runID: String, epoch: Int, sweep: String, competition: String, image: String, command: [String],
                env: [String: String], secretNames: [String] = [], dataDir: String, budgetSeconds: Int, graceSeconds: Int,
                snapshotIntervalSeconds: Int, cpus: Double, memoryBytes: Int64, shmBytes: Int64, gpus: Int, network: Bool) {
        self.runID = runID; self.epoch = epoch; self.sweep = sweep; self.competition = competition; self.image = image
        self.command = command; self.env = env; self.secretNames = secretNames; self.dataDir = dataDir
        self.budgetSeconds = budgetSeconds; self.graceSeconds = graceSeconds
        self.snapshotIntervalSeconds = snapshotIntervalSeconds; self.cpus = cpus; self.memoryBytes = memoryBytes
        self.shmBytes = shmBytes; self.gpus = gpus; self.network = network
    }

    enum CodingKeys: String, CodingKey {
        case runID, epoch, sweep, competition, image, command, env, secretNames, dataDir, budgetSeconds, graceSeconds
        case snapshotIntervalSeconds, cpus, memoryBytes, shmBytes, gpus, network, ociRuntime, user, pidsLimit
        case contract, startArguments, privileged, setupTimeoutSeconds, diskBytes
    }

    /// Fields added after protocol 3 are optional in what is decoded, so an `attempt.json` an older daemon wrote is
    /// still adopted after an upgrade.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        runID = try c.decode(String.self, forKey: .runID); epoch = try c.decode(Int.self, forKey: .epoch)
        sweep = try c.decode(String.self, forKey: .sweep); competition = try c.decode(String.self, forKey: .competition)
        image = try c.decode(String.self, forKey: .image); command = try c.decode([String].self, forKey: .command)
        env = try c.decode([String: String].self, forKey: .env); secretNames = try c.decode([String].self, forKey: .secretNames)
        dataDir = try c.decode(String.self, forKey: .dataDir); budgetSeconds = try c.decode(Int.self, forKey: .budgetSeconds)
        graceSeconds = try c.decode(Int.self, forKey: .graceSeconds)
        snapshotIntervalSeconds = try c.decode(Int.self, forKey: .snapshotIntervalSeconds)
        cpus = try c.decode(Double.self, forKey: .cpus); memoryBytes = try c.decode(Int64.self, forKey: .memoryBytes)
        shmBytes = try c.decode(Int64.self, forKey: .shmBytes); gpus = try c.decode(Int.self, forKey: .gpus)
        network = try c.decode(Bool.self, forKey: .network)
        ociRuntime = try c.decodeIfPresent(String.self, forKey: .ociRuntime)
        user = try c.decodeIfPresent(String.self, forKey: .user)
        pidsLimit = try c.decodeIfPresent(Int64.self, forKey: .pidsLimit) ?? 4096
        contract = try c.decodeIfPresent(String.self, forKey: .contract)
        startArguments = try c.decodeIfPresent([String].self, forKey: .startArguments) ?? []
        privileged = try c.decodeIfPresent(Bool.self, forKey: .privileged) ?? false
        setupTimeoutSeconds = try c.decodeIfPresent(Int.self, forKey: .setupTimeoutSeconds) ?? 600
        diskBytes = try c.decodeIfPresent(Int64.self, forKey: .diskBytes) ?? 0
    }
}

/// A snapshot of the submission taken during a run.
public struct SnapshotInfo: Codable, Sendable, Equatable {
    public var elapsedSeconds: Double
    public var sha256: String
    public var bytes: Int64
    public init(elapsedSeconds: Double, sha256: String, bytes: Int64) {
        self.elapsedSeconds = elapsedSeconds; self.sha256 = sha256; self.bytes = bytes
    }

    enum CodingKeys: String, CodingKey { case elapsedSeconds = "elapsed_seconds", sha256, bytes }
}

/// How an attempt ended, as the worker saw it.
public struct AttemptResult: Codable, Sendable, Equatable {
    public var outcome: AttemptOutcome
    public var exitCode: Int?
    public var elapsedSeconds: Double
    public var message: String?
    public var snapshots: [SnapshotInfo]
    public var submissionSHA256: String?
    public var logBytes: Int64
    /// GPU UUIDs (or stand-in slot names) the attempt held.
    public var gpus: [String]
    /// The node's work directory was (nearly) full when the attempt ended: an infra fault, and the node should get
    /// no more work until someone frees space.
    public var nodeDiskFull: Bool?
    /// Provenance: the image the agent ran (`sha256:…`, the engine's image id) and the GPU model it held.
    public var imageDigest: String?
    public var gpuModel: String?

    public init(outcome: AttemptOutcome, exitCode: Int?, elapsedSeconds: Double, message: String?,
                snapshots: [SnapshotInfo], submissionSHA256: String?, logBytes: Int64, gpus: [String] = []) {
        self.outcome = outcome; self.exitCode = exitCode; self.elapsedSeconds = elapsedSeconds; self.message = message
        self.snapshots = snapshots; self.submissionSHA256 = submissionSHA256; self.logBytes = logBytes; self.gpus = gpus
    }

    enum CodingKeys: String, CodingKey {
        case outcome
        case exitCode = "exit_code"
        case elapsedSeconds = "elapsed_seconds"
        case message, snapshots
        case submissionSHA256 = "submission_sha256"
        case logBytes = "log_bytes"
        case gpus
        case nodeDiskFull = "node_disk_full"
        case imageDigest = "image_digest"
        case gpuModel = "gpu_model"
    }
}

extension StartRequest {
    /// What the attempt holds in the node's ledger.
    public var amount: ResourceAmount { ResourceAmount(gpus: gpus, cpus: cpus, memoryBytes: memoryBytes, diskBytes: diskBytes) }
}

/// A live or finished (not yet acknowledged) attempt the worker holds.
public struct HeldAttempt: Codable, Sendable, Equatable {
    public var runID: String
    public var epoch: Int
    public var running: Bool
    /// How it ended, once it has.
    public var result: AttemptResult?
    /// Bytes of its log on the node so far.
    public var logBytes: Int64
    public init(runID: String, epoch: Int, running: Bool, result: AttemptResult? = nil, logBytes: Int64 = 0) {
        self.runID = runID; self.epoch = epoch; self.running = running; self.result = result; self.logBytes = logBytes
    }
}

/// The sweep a coordinator speaks for (protocol 5): a daemon serves several at once, and each sees, streams, collects,
/// cancels and acknowledges only its own attempts. `id` cannot collide between users who give their sweeps the same
/// name (it is the name plus a digest of when the state was created) and names the directory of its attempts on the
/// node; `generation` grows with every coordinator start of that state, so a stale coordinator of the same sweep is
/// refused rather than replacing the current one.
public struct Tenant: Codable, Sendable, Equatable {
    public var id: String
    public var sweep: String
    public var generation: Int
    /// The sweep's weight in the node's fair share (the sweep file's `share`, default 1; protocol 6).
    public var share: Double?
    public init(id: String, sweep: String, generation: Int, share: Double? = nil) {
        self.id = id; self.sweep = sweep; self.generation = generation; self.share = share
    }
}

/// Coordinator → worker.
public enum Request: Codable, Sendable, Equatable {
    /// `tenant` nil (tests, `podium-worker serve`): the connection sees every attempt of the node.
    case hello(protocolVersion: Int, coordinator: String, tenant: Tenant? = nil)
    case start(StartRequest)
    case cancel(runID: String, epoch: Int)
    /// Which attempts does the node hold? Answered by `.held`.
    case list
    /// Send the attempt's log from byte `from` to its current end (live chunks follow as they are written).
    case streamLog(runID: String, epoch: Int, from: Int64)
    /// A daemon with no live attempt exits (the sweep is over); one with live attempts ignores it.
    case exitWhenIdle
    /// Send the artifact files of a finished attempt (answered by `.file` frames then `.artifactsDone`). `logBytes`: how
    /// much of agent.log the coordinator already holds from streaming; a large log is then sent from there on (its
    /// sha256 still covers the whole file), not twice. nil or 0: everything.
    case fetchArtifacts(runID: String, epoch: Int, logBytes: Int64?)
    /// The coordinator has stored the artifacts; the worker may delete them.
    case acknowledge(runID: String, epoch: Int)
    case shutdown
    /// The answer to a `.validate` reply: MLE-bench's `{"result": …}` (valid or not), or an error the agent sees as HTTP
    /// `status` with `{"error", "details"}`.
    case validationResult(requestID: UInt64, result: String?, error: String?, status: Int)
    /// The coordinator's runs waiting for a slot (protocol 6) and the smallest need among them: the daemon's fair share
    /// holds freed room for a sweep below its entitlement only while it has runs waiting that fit.
    case demand(waiting: Int, smallest: ResourceAmount)
    /// Which sweeps hold attempts or results on the node (answered by `.sweeps`; `podium nodes sweeps`).
    case sweeps
    /// Remove what a sweep left on the node: stop its live attempts, delete its attempt directories and its record
    /// (answered by `.cleaned`, or an error while its coordinator is connected). Only ever on an operator's request
    /// (`podium nodes clean NODE --sweep ID`).
    case clean(sweep: String)
}

/// What one sweep holds on a node (protocol 6).
public struct SweepHolding: Codable, Sendable, Equatable {
    /// Its directory on the node (the tenant id; a name without a digest is a protocol-4 coordinator's).
    public var id: String
    public var sweep: String
    public var live: Int
    /// Finished attempts whose artifacts its coordinator has not acknowledged (collected) yet.
    public var finished: Int
    public var bytes: Int64
    public var connected: Bool
    /// Unix seconds of its coordinator's last connection there (nil: not known).
    public var lastSeen: Double?
    public init(id: String, sweep: String, live: Int, finished: Int, bytes: Int64, connected: Bool, lastSeen: Double?) {
        self.id = id; self.sweep = sweep; self.live = live; self.finished = finished; self.bytes = bytes
        self.connected = connected; self.lastSeen = lastSeen
    }
}

/// Worker → coordinator.
public enum Reply: Codable, Sendable, Equatable {
    /// `gpuModel`: the model nvidia-smi names for the node's GPUs when they are all the same (absent for stand-in slots,
    /// no GPUs or a mix; absent from workers before it existed).
    case welcome(protocolVersion: Int, workerVersion: String, node: String, gpus: Int, cpus: Double, memoryBytes: Int64,
                 gpuModel: String? = nil)
    case error(runID: String?, message: String)
    case started(runID: String, epoch: Int, container: String)
    case log(runID: String, epoch: Int, offset: Int64, data: Data)
    case snapshot(runID: String, epoch: Int, info: SnapshotInfo)
    case finished(runID: String, epoch: Int, result: AttemptResult)
    case held([HeldAttempt])
    /// One artifact file: `name` is relative to the attempt directory (submission/submission.csv, snapshots/…).
    case file(runID: String, epoch: Int, name: String, sha256: String, data: Data)
    /// Part of a large artifact file, at byte `offset`; `fileEnd` closes it.
    case fileChunk(runID: String, epoch: Int, name: String, offset: Int64, data: Data)
    /// The end of a file sent in chunks: its size and sha256.
    case fileEnd(runID: String, epoch: Int, name: String, sha256: String, bytes: Int64)
    case artifactsDone(runID: String, epoch: Int, count: Int)
    /// An agent posted a submission to /validate (mlebench contract): the coordinator grades it against the answers it
    /// alone holds and answers with `.validationResult`.
    case validate(runID: String, epoch: Int, requestID: UInt64, data: Data)
    /// The node's load as this coordinator sees it (protocol 6): after `welcome` and whenever it changes.
    case load(NodeLoad)
    /// A start the node cannot take now (protocol 6): what it needs does not fit beside other sweeps' attempts, or fair
    /// share holds the room for another sweep. Nothing ran; the run goes back to waiting without spending a retry.
    case busy(runID: String, epoch: Int, message: String, load: NodeLoad)
    case sweeps([SweepHolding])
    /// A sweep's leftovers were removed: attempts stopped, attempt directories deleted, bytes freed.
    case cleaned(sweep: String, stopped: Int, removed: Int, bytes: Int64)
}
