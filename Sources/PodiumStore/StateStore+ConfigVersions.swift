import GRDB
import PodiumCore
import PodiumSystem

/// A sweep's configuration versions: what each one ran with, never overwritten.
extension StateStore {
    public struct ConfigVersion: Sendable, Equatable {
        public var version: Int
        /// The sweep file as decoded (`SweepConfig`, JSON), and the agent as resolved at that version's first start.
        public var config: String
        public var agent: String?
        public var createdAt: Double
    }

    /// Every configuration version of the sweep, oldest first (empty for a sweep not registered yet).
    public func configVersions(sweep: String) throws -> [ConfigVersion] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM sweep_configs WHERE sweep = ? ORDER BY version", arguments: [sweep]).map {
                ConfigVersion(version: $0["version"], config: $0["config"], agent: $0["agent"], createdAt: $0["created_at"])
            }
        }
    }

    /// Records a configuration version (the first, or a change the operator accepted). A new version ends the earlier
    /// versions' unfinished runs in the same transaction: runs with no attempt on a node are cancelled at once, and a
    /// cancel request is left for each live attempt (the coordinator stops it on its node). Their finished results
    /// stay theirs. Returns how many runs were cancelled and how many live attempts were asked to stop.
    @discardableResult
    public func addConfigVersion(sweep: String, version: Int, configJSON: String, agentJSON: String?,
                                 now: Double = wallClockSeconds()) throws -> (cancelled: Int, stopping: Int) {
        try db.write { db in
            try db.execute(sql: """
                INSERT INTO sweeps(name, config, agent, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET config = excluded.config, agent = excluded.agent, updated_at = excluded.updated_at
                """, arguments: [sweep, configJSON, agentJSON, now, now])
            try db.execute(sql: "INSERT INTO sweep_configs(sweep, version, config, agent, created_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [sweep, version, configJSON, agentJSON, now])
            guard version > 1 else { return (0, 0) }
            let reason = "superseded by configuration version \(version) (accepted on resume)"
            let idle = try String.fetchAll(db, sql: """
                SELECT id FROM runs WHERE sweep = ? AND config_version < ? AND state IN ('pending', 'staging') ORDER BY seq
                """, arguments: [sweep, version])
            for id in idle {
                try db.execute(sql: """
                    INSERT INTO events(at, run_id, epoch, kind, from_state, to_state, detail)
                    SELECT ?, id, epoch, 'cancel', state, 'cancelled', ? FROM runs WHERE id = ?
                    """, arguments: [now, reason, id])
                try db.execute(sql: "UPDATE runs SET state = 'cancelled', node = NULL, updated_at = ? WHERE id = ?", arguments: [now, id])
            }
            let live = try String.fetchAll(db, sql: """
                SELECT id FROM runs WHERE sweep = ? AND config_version < ? AND state IN ('dispatched', 'running') ORDER BY seq
                """, arguments: [sweep, version])
            for id in live {
                try db.execute(sql: "INSERT INTO requests(at, sweep, run_id, kind) VALUES (?, ?, ?, 'cancel')", arguments: [now, sweep, id])
                try db.execute(sql: "INSERT INTO events(at, kind, run_id, detail) VALUES (?, 'cancel_requested', ?, ?)",
                               arguments: [now, id, reason])
            }
            try db.execute(sql: "INSERT INTO events(at, kind, detail) VALUES (?, 'config_version', ?)",
                           arguments: [now, "\(sweep): version \(version); \(idle.count) unstarted runs of earlier versions cancelled, \(live.count) live attempts asked to stop"])
            return (idle.count, live.count)
        }
    }
}

extension StateStore {
    /// When the sweep was first registered in this state (a digest of it and the name is the sweep's identity on the
    /// nodes' daemons: two users' sweeps of one name never share it).
    public func sweepCreatedAt(sweep: String) throws -> Double? {
        try db.read { db in try Double.fetchOne(db, sql: "SELECT created_at FROM sweeps WHERE name = ?", arguments: [sweep]) }
    }
}
