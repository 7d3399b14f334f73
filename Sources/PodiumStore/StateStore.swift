import GRDB
import PodiumCore
import PodiumSystem

/// A run as the state holds it.
public struct RunRecord: Sendable, Equatable {
    public var spec: RunSpec
    public var sequence: Int
    public var state: RunState
    public var epoch: Int
    public var infraFailures: Int
    public var node: String?
    public var id: String { spec.id }

    public init(spec: RunSpec, sequence: Int, state: RunState, epoch: Int, infraFailures: Int, node: String?) {
        self.spec = spec; self.sequence = sequence; self.state = state; self.epoch = epoch
        self.infraFailures = infraFailures; self.node = node
    }
}

/// A stored grade of one artifact (final submission or a snapshot).
public struct GradeRecord: Sendable, Equatable {
    public var runID: String
    public var epoch: Int
    public var artifact: String
    public var isFinal: Bool
    public var elapsedSeconds: Double?
    public var score: Double?
    public var submissionExists: Bool
    public var valid: Bool
    public var anyMedal, gold, silver, bronze, aboveMedian: Bool
    public var reportJSON: String
    /// Seconds the coordinator's grader spent on it (nil in states written before v6).
    public var gradingSeconds: Double?

    public init(runID: String, epoch: Int, artifact: String, isFinal: Bool, elapsedSeconds: Double?, score: Double?,
                submissionExists: Bool, valid: Bool, anyMedal: Bool, gold: Bool, silver: Bool, bronze: Bool, aboveMedian: Bool, reportJSON: String,
                gradingSeconds: Double? = nil) {
        self.gradingSeconds = gradingSeconds
        self.runID = runID; self.epoch = epoch; self.artifact = artifact; self.isFinal = isFinal
        self.elapsedSeconds = elapsedSeconds; self.score = score; self.submissionExists = submissionExists; self.valid = valid; self.anyMedal = anyMedal
        self.gold = gold; self.silver = silver; self.bronze = bronze; self.aboveMedian = aboveMedian; self.reportJSON = reportJSON
    }
}

extension RunRecord {
    /// The run's current attempt.
    public var key: AttemptKey { AttemptKey(id, epoch) }
}

extension AttemptRecord {
    public var key: AttemptKey { AttemptKey(runID, epoch) }
}

extension GradeRecord {
    /// The attempt this grade belongs to.
    public var key: AttemptKey { AttemptKey(runID, epoch) }
}

public struct StoreError: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}

/// Durable state in SQLite (WAL, synchronous=FULL): every change is committed before podium acts on it.
public final class StateStore: Sendable {
    let db: DatabaseQueue
    public let path: String

    public init(path: String) throws {
        self.path = path
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        db = try DatabaseQueue(path: path, configuration: config)
        try Schema.migrator.migrate(db)
    }

    /// Opens a state for reading only (`podium serve`): nothing is written, and a state whose schema is older than this
    /// podium's is refused with the fix rather than migrated.
    public init(readingOnly path: String) throws {
        self.path = path
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(10)
        db = try DatabaseQueue(path: path, configuration: config)
        let current = try db.read { db in try Schema.migrator.hasCompletedMigrations(db) }
        if !current {
            throw StoreError(description: "\(path): the state was written by an older podium; run `podium status --state \(path)` once to upgrade it (serve opens it read-only)")
        }
    }

    // MARK: sweeps and runs

    /// Records the sweep and inserts runs not yet present (idempotent: the same grid twice adds nothing).
    @discardableResult
    public func register(sweep: String, configJSON: String, runs: [RunSpec], now: Double = wallClockSeconds()) throws -> Int {
        try db.write { db in
            try db.execute(sql: """
                INSERT INTO sweeps(name, config, created_at, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at
                """, arguments: [sweep, configJSON, now, now])
            var added = 0
            let insert = try db.makeStatement(sql: """
                INSERT OR IGNORE INTO runs(id, sweep, agent, competition, budget_seconds, profile, attempt, seq, state, updated_at,
                                           config_version)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)
                """)
            // A later configuration version's runs come after every earlier version's, in grid order.
            var base = [Int: Int]()
            for (i, r) in runs.enumerated() {
                if base[r.configVersion] == nil {
                    base[r.configVersion] = r.configVersion <= 1 ? 0 : try Int.fetchOne(db, sql: """
                        SELECT COALESCE(MAX(seq) + 1, 0) FROM runs WHERE sweep = ? AND config_version < ?
                        """, arguments: [sweep, r.configVersion]) ?? 0
                }
                try insert.execute(arguments: [r.id, r.sweep, r.agent, r.competition, r.budget.seconds, r.profile, r.attempt,
                                               base[r.configVersion]! + i, now, r.configVersion])
                added += db.changesCount
            }
            if added > 0 {
                try db.execute(sql: "INSERT INTO events(at, kind, detail) VALUES (?, 'sweep_registered', ?)",
                               arguments: [now, "\(sweep): \(added) new runs of \(runs.count)"])
            }
            return added
        }
    }

    public func sweepNames() throws -> [String] {
        try db.read { db in try String.fetchAll(db, sql: "SELECT name FROM sweeps ORDER BY updated_at DESC") }
    }

    /// The agent as resolved when the sweep (re)started: id, source, config digest, image (JSON; provenance of results).
    public func setAgent(sweep: String, json: String) throws {
        try db.write { db in try db.execute(sql: "UPDATE sweeps SET agent = ? WHERE name = ?", arguments: [json, sweep]) }
    }

    public func agentJSON(_ sweep: String) throws -> String? {
        try db.read { db in try String.fetchOne(db, sql: "SELECT agent FROM sweeps WHERE name = ?", arguments: [sweep]) }
    }

    public func sweepConfigJSON(_ sweep: String) throws -> String? {
        try db.read { db in try String.fetchOne(db, sql: "SELECT config FROM sweeps WHERE name = ?", arguments: [sweep]) }
    }

    public func runs(sweep: String) throws -> [RunRecord] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM runs WHERE sweep = ? ORDER BY seq", arguments: [sweep]).map(Self.record)
        }
    }

    public func run(_ id: String) throws -> RunRecord? {
        try db.read { db in try Row.fetchOne(db, sql: "SELECT * FROM runs WHERE id = ?", arguments: [id]).map(Self.record) }
    }

    private static func record(_ row: Row) -> RunRecord {
        var spec = RunSpec(sweep: row["sweep"], agent: row["agent"], competition: row["competition"],
                           budget: BudgetDuration(seconds: row["budget_seconds"]), profile: row["profile"], attempt: row["attempt"])
        spec.id = row["id"]
        spec.configVersion = row["config_version"] ?? 1
        return RunRecord(spec: spec, sequence: row["seq"], state: RunState(rawValue: row["state"]) ?? .pending,
                         epoch: row["epoch"], infraFailures: row["infra_failures"], node: row["node"])
    }

    // MARK: operator requests

    /// A request an operator made (`podium cancel`, `podium retry`), waiting for the coordinator.
    public struct OperatorRequest: Sendable, Equatable {
        public enum Kind: String, Sendable { case cancel, retry }
        public var seq: Int64
        public var runID: String
        public var kind: Kind
        public var at: Double
        public init(seq: Int64, runID: String, kind: Kind, at: Double) { self.seq = seq; self.runID = runID; self.kind = kind; self.at = at }
    }

    /// Records requests durably (one transaction); returns how many.
    @discardableResult
    public func request(_ kind: OperatorRequest.Kind, runIDs: [String], sweep: String, now: Double = wallClockSeconds()) throws -> Int {
        try db.write { db in
            for id in runIDs {
                try db.execute(sql: "INSERT INTO requests(at, sweep, run_id, kind) VALUES (?, ?, ?, ?)", arguments: [now, sweep, id, kind.rawValue])
            }
            return runIDs.count
        }
    }

    public func openRequests(sweep: String) throws -> [OperatorRequest] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM requests WHERE sweep = ? AND handled_at IS NULL ORDER BY seq", arguments: [sweep]).compactMap { row in
                OperatorRequest.Kind(rawValue: row["kind"]).map { OperatorRequest(seq: row["seq"], runID: row["run_id"], kind: $0, at: row["at"]) }
            }
        }
    }

    public func markHandled(_ seq: Int64, outcome: String, now: Double = wallClockSeconds()) throws {
        try db.write { db in
            try db.execute(sql: "UPDATE requests SET handled_at = ?, outcome = ? WHERE seq = ?", arguments: [now, outcome, seq])
            try db.execute(sql: "INSERT INTO events(at, run_id, kind, detail) SELECT ?, run_id, 'operator_' || kind, ? FROM requests WHERE seq = ?",
                           arguments: [now, outcome, seq])
        }
    }

    /// How a request was carried out (nil while it waits).
    public func requestOutcome(_ seq: Int64) throws -> String? {
        try db.read { db in try String.fetchOne(db, sql: "SELECT outcome FROM requests WHERE seq = ?", arguments: [seq]) }
    }

    public func lastRequestSeq() throws -> Int64 {
        try db.read { db in try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM requests") ?? 0 }
    }

    // MARK: node data caches

    /// One competition's data on one node: `staging` (being copied or partly there), `evicting`, or `ready` (every
    /// file verified against the manifest whose sha256 is kept).
    public struct NodeData: Sendable, Equatable {
        public var node: String
        public var competition: String
        public var bytes: Int64
        public var state: String
        public var manifestSHA256: String?
        public var updatedAt: Double
    }

    public func setNodeData(node: String, competition: String, bytes: Int64, state: String, manifestSHA256: String? = nil,
                            now: Double = wallClockSeconds()) throws {
        try db.write { db in
            try db.execute(sql: """
                INSERT INTO node_data(node, competition, bytes, state, manifest_sha256, updated_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(node, competition) DO UPDATE SET bytes = excluded.bytes, state = excluded.state,
                    manifest_sha256 = excluded.manifest_sha256, updated_at = excluded.updated_at
                """, arguments: [node, competition, bytes, state, manifestSHA256, now])
        }
    }

    public func removeNodeData(node: String, competition: String) throws {
        try db.write { db in
            try db.execute(sql: "DELETE FROM node_data WHERE node = ? AND competition = ?", arguments: [node, competition])
        }
    }

    public func nodeData() throws -> [NodeData] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM node_data ORDER BY node, competition").map {
                NodeData(node: $0["node"], competition: $0["competition"], bytes: $0["bytes"], state: $0["state"],
                         manifestSHA256: $0["manifest_sha256"], updatedAt: $0["updated_at"])
            }
        }
    }

    // MARK: transitions

    /// Applies one event to a run through the pure state machine and records it, atomically.
    /// `dispatch` also creates the attempt row; `started`/`finished` update it.
    @discardableResult
    public func apply(_ event: RunEvent, to runID: String, node: String? = nil, result: AttemptUpdate? = nil,
                      detail: String? = nil, maxInfraRetries: Int, now: Double = wallClockSeconds()) throws -> RunRecord {
        try db.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM runs WHERE id = ?", arguments: [runID]) else {
                throw StoreError(description: "no run \(runID) in the state")
            }
            let before = Self.record(row)
            var machine = RunLifecycle(state: before.state, epoch: before.epoch, infraFailures: before.infraFailures,
                                       maxInfraRetries: maxInfraRetries)
            try machine.apply(event)
            let newNode: String? = {
                switch event {
                case .dispatch, .stage: return node
                default: return machine.state.holdsNode ? before.node : nil
                }
            }()
            try db.execute(sql: """
                UPDATE runs SET state = ?, epoch = ?, infra_failures = ?, node = ?, updated_at = ? WHERE id = ?
                """, arguments: [machine.state.rawValue, machine.epoch, machine.infraFailures, newNode, now, runID])
            switch event {
            case .dispatch(let epoch):
                try db.execute(sql: """
                    INSERT INTO attempts(run_id, epoch, node, dispatched_at, config_version, podium_version)
                    VALUES (?, ?, ?, ?, (SELECT config_version FROM runs WHERE id = ?), ?)
                    """, arguments: [runID, epoch, node ?? "?", now, runID, podiumVersion])
            case .started:
                try db.execute(sql: "UPDATE attempts SET started_at = ? WHERE run_id = ? AND epoch = ?",
                               arguments: [now, runID, machine.epoch])
            case .finished(let outcome):
                try db.execute(sql: """
                    UPDATE attempts SET outcome = ?, exit_code = ?, elapsed_seconds = ?, message = ?, ended_at = ?,
                        image_digest = ?, gpu_model = ?, gpu_ids = ?
                    WHERE run_id = ? AND epoch = ?
                    """, arguments: [outcome.rawValue, result?.exitCode, result?.elapsedSeconds, result?.message ?? detail,
                                     now, result?.imageDigest, result?.gpuModel, result?.gpuIDs?.joined(separator: ","),
                                     runID, machine.epoch])
            default:
                break
            }
            try db.execute(sql: """
                INSERT INTO events(at, run_id, epoch, kind, from_state, to_state, detail) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [now, runID, machine.epoch, event.description, before.state.rawValue, machine.state.rawValue, detail])
            var after = before
            after.state = machine.state
            after.epoch = machine.epoch
            after.infraFailures = machine.infraFailures
            after.node = newNode
            return after
        }
    }

    public struct AttemptUpdate: Sendable {
        public var exitCode: Int?
        public var elapsedSeconds: Double?
        public var message: String?
        /// Provenance the worker reported: the image id, the GPU model and the GPUs (UUIDs or stand-in slots) held.
        public var imageDigest: String?
        public var gpuModel: String?
        public var gpuIDs: [String]?
        public init(exitCode: Int?, elapsedSeconds: Double?, message: String?, imageDigest: String? = nil, gpuModel: String? = nil,
                    gpuIDs: [String]? = nil) {
            self.exitCode = exitCode; self.elapsedSeconds = elapsedSeconds; self.message = message
            self.imageDigest = imageDigest; self.gpuModel = gpuModel; self.gpuIDs = gpuIDs
        }
    }

    public func attempts(runID: String) throws -> [AttemptRecord] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM attempts WHERE run_id = ? ORDER BY epoch", arguments: [runID]).map(Self.attempt)
        }
    }

    public func attempts(sweep: String) throws -> [AttemptRecord] {
        try db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT a.* FROM attempts a JOIN runs r ON r.id = a.run_id WHERE r.sweep = ? ORDER BY r.seq, a.epoch
                """, arguments: [sweep]).map(Self.attempt)
        }
    }

    private static func attempt(_ row: Row) -> AttemptRecord {
        AttemptRecord(runID: row["run_id"], epoch: row["epoch"], node: row["node"],
                      outcome: (row["outcome"] as String?).flatMap(AttemptOutcome.init(rawValue:)),
                      exitCode: row["exit_code"], elapsedSeconds: row["elapsed_seconds"], message: row["message"],
                      logBytes: row["log_bytes"], dispatchedAt: row["dispatched_at"], startedAt: row["started_at"],
                      imageDigest: row["image_digest"], gpuModel: row["gpu_model"],
                      gpuIDs: (row["gpu_ids"] as String?).map { $0.split(separator: ",").map(String.init) } ?? [],
                      configVersion: row["config_version"], podiumVersion: row["podium_version"])
    }

    // MARK: logs, artifacts, grades

    /// Records how many bytes of an attempt's log are stored centrally (the offset to resume from).
    public func setLogBytes(runID: String, epoch: Int, bytes: Int64) throws {
        try db.write { db in
            try db.execute(sql: "UPDATE attempts SET log_bytes = ? WHERE run_id = ? AND epoch = ?", arguments: [bytes, runID, epoch])
        }
    }

    public func recordArtifact(runID: String, epoch: Int, name: String, sha256: String, bytes: Int64, path: String,
                               elapsedSeconds: Double?) throws {
        try db.write { db in
            try db.execute(sql: """
                INSERT OR REPLACE INTO artifacts(run_id, epoch, name, sha256, bytes, path, elapsed_seconds) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [runID, epoch, name, sha256, bytes, path, elapsedSeconds])
        }
    }

    public struct ArtifactRecord: Sendable, Equatable {
        public var name: String
        public var sha256: String
        public var bytes: Int64
        public var path: String
        public var elapsedSeconds: Double?
    }

    public func artifacts(runID: String, epoch: Int) throws -> [ArtifactRecord] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM artifacts WHERE run_id = ? AND epoch = ? ORDER BY name",
                             arguments: [runID, epoch]).map {
                ArtifactRecord(name: $0["name"], sha256: $0["sha256"], bytes: $0["bytes"], path: $0["path"],
                               elapsedSeconds: $0["elapsed_seconds"])
            }
        }
    }

    /// Every stored artifact of a sweep's attempts.
    public func artifacts(sweep: String) throws -> [(AttemptKey, ArtifactRecord)] {
        try db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT a.* FROM artifacts a JOIN runs r ON r.id = a.run_id WHERE r.sweep = ? ORDER BY a.run_id, a.epoch, a.name
                """, arguments: [sweep]).map {
                (AttemptKey($0["run_id"], $0["epoch"]),
                 ArtifactRecord(name: $0["name"], sha256: $0["sha256"], bytes: $0["bytes"], path: $0["path"], elapsedSeconds: $0["elapsed_seconds"]))
            }
        }
    }

    /// Stores a grade once: a second grade of the same artifact is ignored (returns false).
    @discardableResult
    public func recordGrade(_ g: GradeRecord, now: Double = wallClockSeconds()) throws -> Bool {
        try db.write { db in
            try db.execute(sql: """
                INSERT OR IGNORE INTO grades(run_id, epoch, artifact, is_final, elapsed_seconds, score, submission_exists, valid,
                    any_medal, gold, silver, bronze, above_median, report, graded_at, grading_seconds)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [g.runID, g.epoch, g.artifact, g.isFinal, g.elapsedSeconds, g.score, g.submissionExists, g.valid, g.anyMedal,
                                 g.gold, g.silver, g.bronze, g.aboveMedian, g.reportJSON, now, g.gradingSeconds])
            return db.changesCount == 1
        }
    }

    public func grades(sweep: String) throws -> [GradeRecord] {
        try db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT g.* FROM grades g JOIN runs r ON r.id = g.run_id WHERE r.sweep = ? ORDER BY r.seq, g.epoch, g.is_final, g.elapsed_seconds
                """, arguments: [sweep]).map(Self.grade)
        }
    }

    static func grade(_ row: Row) -> GradeRecord {
        GradeRecord(runID: row["run_id"], epoch: row["epoch"], artifact: row["artifact"], isFinal: row["is_final"],
                    elapsedSeconds: row["elapsed_seconds"], score: row["score"],
                    submissionExists: row["submission_exists"], valid: row["valid"],
                    anyMedal: row["any_medal"], gold: row["gold"], silver: row["silver"], bronze: row["bronze"],
                    aboveMedian: row["above_median"], reportJSON: row["report"], gradingSeconds: row["grading_seconds"])
    }

    /// One validation an agent asked for (`valid` nil: it could not be answered; `status` is what the agent got).
    public struct ValidationRecord: Sendable, Equatable, Codable {
        public var runID: String
        public var epoch: Int
        public var at: Double
        public var seconds: Double
        public var bytes: Int
        public var valid: Bool?
        public var status: Int
        public var message: String
        public init(runID: String, epoch: Int, at: Double, seconds: Double, bytes: Int, valid: Bool?, status: Int, message: String) {
            self.runID = runID; self.epoch = epoch; self.at = at; self.seconds = seconds; self.bytes = bytes
            self.valid = valid; self.status = status; self.message = message
        }
    }

    public func recordValidation(_ v: ValidationRecord) throws {
        try db.write { db in
            try db.execute(sql: "INSERT INTO validations(run_id, epoch, at, seconds, bytes, valid, status, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           arguments: [v.runID, v.epoch, v.at, v.seconds, v.bytes, v.valid, v.status, v.message])
        }
    }

    /// A sweep's validations, oldest first.
    public func validations(sweep: String) throws -> [ValidationRecord] {
        try db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT v.* FROM validations v JOIN runs r ON r.id = v.run_id WHERE r.sweep = ? ORDER BY v.seq
                """, arguments: [sweep]).map {
                ValidationRecord(runID: $0["run_id"], epoch: $0["epoch"], at: $0["at"], seconds: $0["seconds"], bytes: $0["bytes"],
                                 valid: $0["valid"], status: $0["status"], message: $0["message"])
            }
        }
    }

    /// Free-form event for things outside a run transition (node up/down, reconcile decisions).
    public func logEvent(kind: String, runID: String? = nil, epoch: Int? = nil, detail: String?, now: Double = wallClockSeconds()) throws {
        try db.write { db in
            try db.execute(sql: "INSERT INTO events(at, run_id, epoch, kind, detail) VALUES (?, ?, ?, ?, ?)",
                           arguments: [now, runID, epoch, kind, detail])
        }
    }

    /// Details of the events of one kind, oldest first.
    public func events(kind: String) throws -> [String] {
        try db.read { db in try String.fetchAll(db, sql: "SELECT COALESCE(detail, '') FROM events WHERE kind = ? ORDER BY seq", arguments: [kind]) }
    }

    /// One run's event lines (transitions and the rest), oldest first.
    public func runEvents(runID: String) throws -> [(kind: String, detail: String?)] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT kind, detail FROM events WHERE run_id = ? ORDER BY seq", arguments: [runID]).map { ($0["kind"], $0["detail"]) }
        }
    }

    public func eventCount(runID: String) throws -> Int {
        try db.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events WHERE run_id = ?", arguments: [runID]) ?? 0 }
    }

    /// `PRAGMA integrity_check` result ("ok" when sound).
    public func integrityCheck() throws -> String {
        try db.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "?" }
    }

    public func journalMode() throws -> String {
        try db.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "?" }
    }

    public func synchronousMode() throws -> Int {
        try db.read { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }
}
