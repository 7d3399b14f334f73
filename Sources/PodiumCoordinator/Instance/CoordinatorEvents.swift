#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodiumCore
import PodiumProtocol
import PodiumScheduler
import PodiumStore

/// What a place (a node's worker today; a Slurm cluster next) offered when it came up.
public struct PlaceOffer: Sendable, Equatable {
    /// GPUs its worker found (or its declared stand-in slots); nil: take the inventory's word.
    public var gpus: Int?
    /// The model nvidia-smi names there, when the worker reports one.
    public var gpuModel: String?
    public var workerVersion: String
    /// How it runs attempts (`docker`, `process`), for the record.
    public var runtime: String
    public init(gpus: Int?, gpuModel: String?, workerVersion: String, runtime: String) {
        self.gpus = gpus; self.gpuModel = gpuModel; self.workerVersion = workerVersion; self.runtime = runtime
    }
}

/// An operator's request (`podium cancel` / `podium retry`) as the state holds it.
public typealias OperatorRequest = StateStore.OperatorRequest

/// One submission to grade: the final one or a snapshot of an attempt.
public struct GradeJob: Hashable, Sendable {
    public var key: AttemptKey
    public var competition: String
    /// Relative to the attempt directory: `submission/submission.csv` or `snapshots/…`.
    public var artifact: String
    public var isFinal: Bool
    public var elapsedSeconds: Double?
    public init(key: AttemptKey, competition: String, artifact: String, isFinal: Bool, elapsedSeconds: Double?) {
        self.key = key; self.competition = competition; self.artifact = artifact; self.isFinal = isFinal; self.elapsedSeconds = elapsedSeconds
    }
}

/// An agent's POST /validate (MLE-bench contract), relayed by its place: graded off the loop against the answers only
/// the coordinator holds; the verdict goes back to the same place.
public struct ValidationJob: Sendable, Equatable {
    public var key: AttemptKey
    public var place: String
    public var requestID: UInt64
    public var competition: String
    public var data: Data
    public init(key: AttemptKey, place: String, requestID: UInt64, competition: String, data: Data) {
        self.key = key; self.place = place; self.requestID = requestID; self.competition = competition; self.data = data
    }
}

/// What /validate answers: MLE-bench's message (`valid` set), or an error the agent sees as HTTP `status`.
public struct ValidationVerdict: Sendable, Equatable {
    public var valid: Bool?
    public var message: String
    public var status: Int
    /// Time the coordinator spent on it.
    public var seconds: Double
    public init(valid: Bool?, message: String, status: Int = 200, seconds: Double = 0) {
        self.valid = valid; self.message = message; self.status = status; self.seconds = seconds
    }
}

/// An artifact whose bytes the central storage holds, verified against the node's sha256.
public struct StoredArtifact: Sendable, Equatable {
    public var name: String
    public var sha256: String
    public var bytes: Int64
    public var path: String
    public var elapsedSeconds: Double?
    public init(name: String, sha256: String, bytes: Int64, path: String, elapsedSeconds: Double?) {
        self.name = name; self.sha256 = sha256; self.bytes = bytes; self.path = path; self.elapsedSeconds = elapsedSeconds
    }
}

/// What the storage found when it checked a file against the node's digest (off the loop).
public enum StorageCheck: Sendable, Equatable {
    /// A file sent whole was kept; `replaced` says what it replaced when that differed (agent.log's streamed copy).
    case stored(StoredArtifact, replaced: String? = nil)
    /// A file sent in chunks matched the node's size and sha256 and was kept.
    case verified(StoredArtifact)
    /// Size or sha256 differ; the bytes were not kept.
    case corrupt(name: String, reason: String)
    /// The central agent.log differs from the node's: `centralBytes` is what the streamed copy held.
    case logMismatch(centralBytes: Int64, nodeBytes: Int64)
}

/// Events in: everything that happens to the coordinator, with the time passed alongside (never read).
public enum CoordinatorEvent: Sendable {
    /// Time passed: retries, reconnects, `lost_after` and operator polls fall due.
    case tick
    /// A connection to the place is open (generation numbers tell a new connection from a late notice of an old one).
    case placeConnected(place: String, generation: Int, offer: PlaceOffer)
    /// A connection attempt failed (generation nil) or an open connection ended.
    case placeUnreachable(place: String, generation: Int?, reason: String)
    /// A connection attempt was refused in a way that never clears by itself (a changed or unknown host key, a key the
    /// node refuses): the place is drained until a person looks.
    case placeRefused(place: String, reason: String)
    /// A worker's reply.
    case reply(place: String, Reply)
    /// The start request could not be handed to the place's connection.
    case startFailed(AttemptKey, reason: String)
    /// The storage finished checking (and keeping) one artifact.
    case storageChecked(AttemptKey, StorageCheck)
    /// A grading worker finished one submission.
    case graded(GradeJob, GradeRecord, summary: String)
    /// A validation finished (answer to `.validate`).
    case validated(ValidationJob, ValidationVerdict)
    /// Requests found in the state (answer to `.pollRequests`).
    case operatorRequests([OperatorRequest])
    /// SIGINT/SIGTERM: detach, leaving attempts running on their places.
    case interrupt(signal: Int32)
    /// A staging job ended (answer to `.stageData`): the place's copy was verified file by file, or why not.
    case dataStaged(DataStageJob, DataStageOutcome)
}

/// Staging one competition's public data onto one place (issue 18): first remove the competitions in `evict` from
/// the place's cache (no run uses them), then make the place hold the manifest's files, each verified by sha256.
public struct DataStageJob: Sendable, Hashable {
    public var place: String
    public var competition: String
    public var bytes: Int64
    public var evict: [String]
    public init(place: String, competition: String, bytes: Int64, evict: [String]) {
        self.place = place; self.competition = competition; self.bytes = bytes; self.evict = evict
    }
}

public enum DataStageOutcome: Sendable, Equatable {
    /// Every file is on the place and matches the coordinator's manifest; `copied` bytes moved this time.
    case ready(copied: Int64)
    /// Staging failed (an infrastructure fault, never the agent's): `diskFull` when the place ran out of space.
    case failed(reason: String, diskFull: Bool)
}

/// Directives out: what the shell carries out, in order. A `.persist` or `.record` that fails stops the shell before
/// anything after it is acted on (a state change is durable before it is acted on).
public enum CoordinatorDirective: Sendable, Equatable {
    /// Apply a run transition durably (the state machine re-checks it in the same transaction).
    case persist(runID: String, RunEvent, place: String? = nil, result: StateStore.AttemptUpdate? = nil, detail: String?)
    /// A durable event-log line outside a run transition.
    case record(kind: String, runID: String? = nil, epoch: Int? = nil, detail: String)
    case recordArtifact(AttemptKey, StoredArtifact)
    case recordGrade(GradeRecord)
    case markHandled(seq: Int64, outcome: String)
    /// Open a connection to the place (answered by `.placeConnected` or `.placeUnreachable`).
    case connect(place: String)
    case send(place: String, Request)
    /// Send the start request of this attempt (answered by `.reply(.started…)` or `.startFailed`).
    case start(AttemptKey, place: String)
    case appendLog(AttemptKey, offset: Int64, data: Data)
    /// The attempt's live log is complete: make it durable and record its length.
    case closeLog(AttemptKey, bytes: Int64)
    /// The central log is refetched whole: empty it first.
    case resetLog(AttemptKey)
    case writeChunk(AttemptKey, name: String, offset: Int64, data: Data)
    /// Check (and keep) a whole file sent in one frame; answered by `.storageChecked`.
    case storeFile(AttemptKey, name: String, sha256: String, data: Data)
    /// Check a file sent in chunks; answered by `.storageChecked`.
    case verifyFile(AttemptKey, name: String, sha256: String, bytes: Int64)
    case grade(GradeJob)
    /// Validate an agent's submission off the loop (answered by `.validated`).
    case validate(ValidationJob)
    /// Keep a validation's verdict with the attempt (count, time, verdict; `podium report` shows them).
    case recordValidation(AttemptKey, bytes: Int, verdict: ValidationVerdict)
    /// Read the operator requests now (answered by `.operatorRequests`).
    case pollRequests
    /// Stage a competition's data onto a place off the loop (answered by `.dataStaged`). The shell records the
    /// place's cache durably (staging, evicted, ready) as it goes, before it answers.
    case stageData(DataStageJob)
    /// A line for the person watching (progress area).
    case note(String)
    /// A warning on stderr.
    case warn(String)
    /// Stop: the sweep cannot go on (no place reachable at start).
    case abort(String)
}

extension StateStore.AttemptUpdate: Equatable {
    public static func == (a: Self, b: Self) -> Bool {
        a.exitCode == b.exitCode && a.elapsedSeconds == b.elapsedSeconds && a.message == b.message
    }
}
