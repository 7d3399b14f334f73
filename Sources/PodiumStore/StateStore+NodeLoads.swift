import GRDB

/// The load of each node as its daemon last pushed it to this sweep's coordinator (JSON of the protocol's `NodeLoad`).
extension StateStore {
    public struct NodeLoadRow: Sendable, Equatable {
        public var node: String
        public var json: String
        public var updatedAt: Double
    }

    public func recordNodeLoads(sweep: String, _ loads: [(node: String, json: String)], at: Double) throws {
        guard !loads.isEmpty else { return }
        try db.write { db in
            for l in loads {
                try db.execute(sql: """
                    INSERT INTO node_loads(sweep, node, load, updated_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT(sweep, node) DO UPDATE SET load = excluded.load, updated_at = excluded.updated_at
                    """, arguments: [sweep, l.node, l.json, at])
            }
        }
    }

    public func nodeLoads(sweep: String) throws -> [NodeLoadRow] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT node, load, updated_at FROM node_loads WHERE sweep = ? ORDER BY node", arguments: [sweep]).map {
                NodeLoadRow(node: $0["node"], json: $0["load"], updatedAt: $0["updated_at"])
            }
        }
    }
}
