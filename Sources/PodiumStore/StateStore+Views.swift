import GRDB

/// The reads behind `podium serve`'s views of a state: the version a reader caches against, one run's timeline, the
/// nodes' last up/down events, final grades without their reports, and the grader's times.
extension StateStore {
    /// Changes whenever another connection commits (SQLite's `PRAGMA data_version`): what a reader caches against.
    public func dataVersion() throws -> Int {
        try db.read { db in try Int.fetchOne(db, sql: "PRAGMA data_version") ?? 0 }
    }

    /// One event with its time and the states it moved between (transitions have them).
    public struct EventRecord: Sendable, Equatable {
        public var at: Double
        public var epoch: Int?
        public var kind: String
        public var from: String?
        public var to: String?
        public var detail: String?
        public init(at: Double, epoch: Int?, kind: String, from: String?, to: String?, detail: String?) {
            self.at = at; self.epoch = epoch; self.kind = kind; self.from = from; self.to = to; self.detail = detail
        }
    }

    /// One run's events with their times, oldest first (at most `limit`, the newest kept).
    public func timeline(runID: String, limit: Int = 2000) throws -> [EventRecord] {
        try db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM (SELECT seq, at, epoch, kind, from_state, to_state, detail FROM events WHERE run_id = ? ORDER BY seq DESC LIMIT ?)
                ORDER BY seq
                """, arguments: [runID, limit]).map {
                EventRecord(at: $0["at"], epoch: $0["epoch"], kind: $0["kind"], from: $0["from_state"], to: $0["to_state"], detail: $0["detail"])
            }
        }
    }

    /// The latest node_up / node_down / node_drained event of each node (the detail starts with "<node>: ").
    public func lastNodeEvents() throws -> [String: EventRecord] {
        try db.read { db in
            var out = [String: EventRecord]()
            for row in try Row.fetchAll(db, sql: """
                SELECT at, kind, detail FROM events WHERE kind IN ('node_up', 'node_down', 'node_drained') ORDER BY seq
                """) {
                let detail: String = row["detail"] ?? ""
                guard let colon = detail.firstIndex(of: ":") else { continue }
                out[String(detail[..<colon])] = EventRecord(at: row["at"], epoch: nil, kind: row["kind"], from: nil, to: nil, detail: detail)
            }
            return out
        }
    }

    /// The final grades of a sweep without their report text (what a view of many runs needs).
    public func finalGrades(sweep: String) throws -> [GradeRecord] {
        try db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT g.run_id, g.epoch, g.artifact, g.is_final, g.elapsed_seconds, g.score, g.submission_exists, g.valid, g.any_medal,
                       g.gold, g.silver, g.bronze, g.above_median, '' AS report, g.grading_seconds
                FROM grades g JOIN runs r ON r.id = g.run_id WHERE r.sweep = ? AND g.is_final = 1 ORDER BY r.seq, g.epoch
                """, arguments: [sweep]).map(Self.grade)
        }
    }

    /// Each grade's (run, epoch, artifact, grader seconds) of a sweep: the /metrics grading-time histogram.
    public func gradingTimes(sweep: String) throws -> [(key: String, seconds: Double)] {
        try db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT g.run_id || '/' || g.epoch || '/' || g.artifact AS k, g.grading_seconds AS s
                FROM grades g JOIN runs r ON r.id = g.run_id WHERE r.sweep = ? AND g.grading_seconds IS NOT NULL
                """, arguments: [sweep]).map { (key: $0["k"], seconds: $0["s"]) }
        }
    }

    public func grades(runID: String) throws -> [GradeRecord] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM grades WHERE run_id = ? ORDER BY epoch, is_final, elapsed_seconds", arguments: [runID])
                .map(Self.grade)
        }
    }

    /// Every event of one kind with its time, oldest first.
    public func eventRecords(kind: String) throws -> [EventRecord] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT at, epoch, kind, from_state, to_state, detail FROM events WHERE kind = ? ORDER BY seq", arguments: [kind]).map {
                EventRecord(at: $0["at"], epoch: $0["epoch"], kind: $0["kind"], from: $0["from_state"], to: $0["to_state"], detail: $0["detail"])
            }
        }
    }
}
