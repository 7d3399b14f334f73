#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What a sweep's attempts do, as flat `path = value` fields: the agent (image, command, env, secrets by name, runtime,
/// user, MLE-bench id, its config digest and kwargs), the hardware profiles, snapshot interval, grace period, network
/// and data directory. Two sweep files with the same identity run the same attempts; a resumed sweep whose identity
/// differs from the stored one would credit new attempts to old results (or old results to a new agent).
///
/// The grid (competitions, budgets, attempts) is not part of it: growing it adds runs of their own ids. Operational
/// settings (state, inventory, lost_after, max_infra_retries) change where and how often, not what, an attempt runs.
public struct SweepIdentity: Sendable, Equatable {
    /// Sorted by path; values in canonical JSON.
    public var fields: [String: String]

    public struct Change: Sendable, Equatable {
        public var path: String
        /// nil: the field is new (or gone, for `new`).
        public var old: String?
        public var new: String?
    }

    /// The identity of `config`, with `agentJSON` the agent as resolved at start (`SweepSetup.AgentIdentity`: its
    /// config digest and kwargs; its config file's path is left out, a moved checkout runs the same agent).
    public init(config: SweepConfig, agentJSON: String?) {
        var f = [String: String]()
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        func add<T: Encodable>(_ path: String, _ value: T) {
            guard let data = try? enc.encode(value), let json = try? JSONDecoder().decode(JSONValue.self, from: data) else { return }
            json.flatten(into: &f, path: path)
        }
        add("agent", config.agent)
        for p in config.hardware { add("hardware[\(p.name)]", p) }
        add("snapshot_interval", config.snapshotInterval.description)
        add("grace_period", config.gracePeriod.description)
        add("network", config.network)
        add("data_dir", config.dataDir)
        if let agentJSON, let json = try? JSONDecoder().decode(JSONValue.self, from: Data(agentJSON.utf8)),
           case .object(var o) = json {
            // Said by `agent.*` already, or not what runs (a moved checkout runs the same agent); a podium agent's
            // digest and arguments are of `agent` itself.
            var drop = ["id", "source", "image", "config_path"]
            if case .string("podium")? = o["source"] { drop += ["config_sha256", "arguments"] }
            for k in drop { o[k] = nil }
            JSONValue.object(o).flatten(into: &f, path: "agent.resolved")
        }
        fields = f
    }

    /// Field by field, in path order: what `new` changes of `self`.
    public func changes(to new: SweepIdentity) -> [Change] {
        Set(fields.keys).union(new.fields.keys).sorted().compactMap { k in
            fields[k] == new.fields[k] ? nil : Change(path: k, old: fields[k], new: new.fields[k])
        }
    }
}

extension JSONValue {
    /// Objects become `path.key` fields; scalars and arrays of scalars are one field each (canonical JSON text).
    func flatten(into out: inout [String: String], path: String) {
        switch self {
        case .object(let o):
            for (k, v) in o { v.flatten(into: &out, path: path.isEmpty ? k : "\(path).\(k)") }
        default:
            out[path] = canonical
        }
    }

    var canonical: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(n)
        case .string(let s): return InventoryText.quote(s)
        case .array(let a): return "[" + a.map(\.canonical).joined(separator: ", ") + "]"
        case .object(let o): return "{" + o.keys.sorted().map { "\(InventoryText.quote($0)): \(o[$0]!.canonical)" }.joined(separator: ", ") + "}"
        }
    }
}
