import GRDB

/// Migrations of the state database. Append new ones; never edit a shipped one.
enum Schema {
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE sweeps(
                    name TEXT PRIMARY KEY NOT NULL,
                    config TEXT NOT NULL,
                    created_at REAL NOT NULL,
                    updated_at REAL NOT NULL);
                CREATE TABLE runs(
                    id TEXT PRIMARY KEY NOT NULL,
                    sweep TEXT NOT NULL REFERENCES sweeps(name),
                    agent TEXT NOT NULL,
                    competition TEXT NOT NULL,
                    budget_seconds INTEGER NOT NULL,
                    profile TEXT NOT NULL,
                    attempt INTEGER NOT NULL,
                    seq INTEGER NOT NULL,
                    state TEXT NOT NULL,
                    epoch INTEGER NOT NULL DEFAULT 0,
                    infra_failures INTEGER NOT NULL DEFAULT 0,
                    node TEXT,
                    updated_at REAL NOT NULL);
                CREATE INDEX runs_by_sweep_state ON runs(sweep, state);
                CREATE TABLE attempts(
                    run_id TEXT NOT NULL REFERENCES runs(id),
                    epoch INTEGER NOT NULL,
                    node TEXT NOT NULL,
                    outcome TEXT,
                    exit_code INTEGER,
                    elapsed_seconds REAL,
                    message TEXT,
                    dispatched_at REAL NOT NULL,
                    started_at REAL,
                    ended_at REAL,
                    log_bytes INTEGER NOT NULL DEFAULT 0,
                    PRIMARY KEY(run_id, epoch));
                CREATE TABLE events(
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    at REAL NOT NULL,
                    run_id TEXT,
                    epoch INTEGER,
                    kind TEXT NOT NULL,
                    from_state TEXT,
                    to_state TEXT,
                    detail TEXT);
                CREATE TABLE artifacts(
                    run_id TEXT NOT NULL,
                    epoch INTEGER NOT NULL,
                    name TEXT NOT NULL,
                    sha256 TEXT NOT NULL,
                    bytes INTEGER NOT NULL,
                    path TEXT NOT NULL,
                    elapsed_seconds REAL,
                    PRIMARY KEY(run_id, epoch, name));
                CREATE TABLE grades(
                    run_id TEXT NOT NULL,
                    epoch INTEGER NOT NULL,
                    artifact TEXT NOT NULL,
                    is_final INTEGER NOT NULL,
                    elapsed_seconds REAL,
                    score REAL,
                    submission_exists INTEGER NOT NULL,
                    valid INTEGER NOT NULL,
                    any_medal INTEGER NOT NULL,
                    gold INTEGER NOT NULL,
                    silver INTEGER NOT NULL,
                    bronze INTEGER NOT NULL,
                    above_median INTEGER NOT NULL,
                    report TEXT NOT NULL,
                    graded_at REAL NOT NULL,
                    PRIMARY KEY(run_id, epoch, artifact));
                """)
        }
        m.registerMigration("v2-operator-requests") { db in
            // Operator commands (`podium cancel`, `podium retry`) write a request here; the coordinator (or, when none
            // runs, the command itself) carries it out and records how.
            try db.execute(sql: """
                CREATE TABLE requests(
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    at REAL NOT NULL,
                    sweep TEXT NOT NULL,
                    run_id TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    handled_at REAL,
                    outcome TEXT);
                CREATE INDEX requests_open ON requests(sweep, handled_at);
                """)
        }
        m.registerMigration("v3-validations") { db in
            // Each /validate an agent made (MLE-bench contract): when, how long, how big, the verdict.
            try db.execute(sql: """
                CREATE TABLE validations(
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    run_id TEXT NOT NULL REFERENCES runs(id),
                    epoch INTEGER NOT NULL,
                    at REAL NOT NULL,
                    seconds REAL NOT NULL,
                    bytes INTEGER NOT NULL,
                    valid INTEGER,
                    status INTEGER NOT NULL,
                    message TEXT NOT NULL);
                CREATE INDEX validations_attempt ON validations(run_id, epoch);
                """)
        }
        m.registerMigration("v4-provenance") { db in
            // What each attempt actually ran on (from the worker's result), and the agent as resolved at sweep start.
            try db.execute(sql: """
                ALTER TABLE attempts ADD COLUMN image_digest TEXT;
                ALTER TABLE attempts ADD COLUMN gpu_model TEXT;
                ALTER TABLE attempts ADD COLUMN gpu_ids TEXT;
                ALTER TABLE sweeps ADD COLUMN agent TEXT;
                """)
        }
        m.registerMigration("v5-node-data") { db in
            // What each node's data cache holds (issue 18): a row is written before staging starts and before an
            // eviction, so a crash leaves the node's disk accounted for; `ready` once every file was verified.
            try db.execute(sql: """
                CREATE TABLE node_data(
                    node TEXT NOT NULL,
                    competition TEXT NOT NULL,
                    bytes INTEGER NOT NULL,
                    state TEXT NOT NULL,
                    manifest_sha256 TEXT,
                    updated_at REAL NOT NULL,
                    PRIMARY KEY(node, competition));
                """)
        }
        m.registerMigration("v6-event-indexes") { db in
            // The dashboard reads one run's events and the nodes' up/down events of long sweeps: index both. Grades
            // record the grader's time (the /metrics grading-time histogram).
            try db.execute(sql: """
                CREATE INDEX events_by_run ON events(run_id, seq);
                CREATE INDEX events_by_kind ON events(kind, seq);
                ALTER TABLE grades ADD COLUMN grading_seconds REAL;
                """)
        }
        m.registerMigration("v7-config-versions") { db in
            // A sweep's configuration is its identity: each accepted change is a version of its own (never overwritten),
            // each run belongs to one, and each attempt records the version and podium it ran with at dispatch.
            try db.execute(sql: """
                CREATE TABLE sweep_configs(
                    sweep TEXT NOT NULL REFERENCES sweeps(name),
                    version INTEGER NOT NULL,
                    config TEXT NOT NULL,
                    agent TEXT,
                    created_at REAL NOT NULL,
                    PRIMARY KEY(sweep, version));
                INSERT INTO sweep_configs(sweep, version, config, agent, created_at)
                    SELECT name, 1, config, agent, created_at FROM sweeps;
                ALTER TABLE runs ADD COLUMN config_version INTEGER NOT NULL DEFAULT 1;
                ALTER TABLE attempts ADD COLUMN config_version INTEGER;
                ALTER TABLE attempts ADD COLUMN podium_version TEXT;
                """)
        }
        m.registerMigration("v8-node-loads") { db in
            // What each shared node held per sweep when its daemon last told this sweep's coordinator (issue 27): for
            // `podium status`, `podium nodes` and the dashboard. A view, not a decision: the daemon's ledger decides.
            try db.execute(sql: """
                CREATE TABLE node_loads(
                    sweep TEXT NOT NULL,
                    node TEXT NOT NULL,
                    load TEXT NOT NULL,
                    updated_at REAL NOT NULL,
                    PRIMARY KEY(sweep, node));
                """)
        }
        return m
    }
}
