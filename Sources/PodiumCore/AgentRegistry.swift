#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One agent of an mle-bench checkout (`agents/<name>/config.yaml`, one top-level key per variant id), read as
/// MLE-bench's registry reads it: anchors and merges resolved, kwargs and env vars turned into text as Python's `str()`
/// does, env values written `${{ secrets.NAME }}` taken from the coordinator's secrets by name at dispatch.
public struct MLEBenchAgent: Sendable, Equatable {
    public enum KwargsType: String, Sendable, Codable { case omegaconf, argparse }

    /// "aide/o1-preview"
    public var id: String
    /// The image MLE-bench builds for it: the id's first part (`docker build -t aide agents/aide`).
    public var image: String
    /// The start script as the config names it (relative to agents/); in the image at /home/agent/start.sh.
    public var start: String
    public var dockerfile: String?
    public var kwargsType: KwargsType
    public var kwargs: [KeyValue]
    /// Env vars with their values (no secrets among them).
    public var env: [KeyValue]
    /// Env var name → secret name, for values written `${{ secrets.NAME }}`.
    public var secretEnv: [KeyValue]
    public var privileged: Bool
    public var configPath: String
    /// sha256 of the config file's bytes: provenance for every result.
    public var configSHA256: String

    public struct KeyValue: Sendable, Equatable, Codable {
        public var key: String
        public var value: String
        public init(_ key: String, _ value: String) { self.key = key; self.value = value }
    }

    /// The start script's arguments: `key=value` (omegaconf) or `--key value` (argparse), in the config's order.
    public var arguments: [String] {
        switch kwargsType {
        case .omegaconf: return kwargs.map { "\($0.key)=\($0.value)" }
        case .argparse: return kwargs.flatMap { ["--\($0.key)", $0.value] }
        }
    }

    /// The secret names the agent needs, in order.
    public var secrets: [String] { secretEnv.map(\.value) }

    /// The time limit the config itself sets (TIME_LIMIT_SECS), if any: podium replaces it with the run's budget.
    public var configuredTimeLimit: Int? { env.first(where: { $0.key == "TIME_LIMIT_SECS" }).flatMap { Int($0.value) } }
}

public enum AgentRegistry {
    /// Every agent variant under `<mlebenchDir>/agents/*/config.yaml`, sorted by id.
    public static func load(mlebenchDir: String) throws -> [MLEBenchAgent] {
        let dir = mlebenchDir + "/agents"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else {
            throw ConfigError(file: mlebenchDir, found: "no agents/ directory",
                              expected: "an mle-bench checkout with agents/<name>/config.yaml",
                              fix: "pass --mlebench-dir pointing at your mle-bench checkout")
        }
        var out = [MLEBenchAgent]()
        for name in names.sorted() {
            let path = "\(dir)/\(name)/config.yaml"
            guard FileManager.default.fileExists(atPath: path) else { continue }
            out += try agents(inConfig: path)
        }
        return out.sorted { $0.id < $1.id }
    }

    /// One agent by id ("aide", "aide/o1-preview"), with the nearest known id on a typo.
    public static func agent(id: String, mlebenchDir: String, source: String? = nil) throws -> MLEBenchAgent {
        let all = try load(mlebenchDir: mlebenchDir)
        if let a = all.first(where: { $0.id == id }) { return a }
        let fix = nearest(id, in: all.map(\.id)).map { "did you mean '\($0)'?" } ?? "see `podium agents --mlebench-dir \(mlebenchDir)`"
        throw ConfigError(path: source, found: "unknown agent '\(id)'",
                          expected: "one of \(all.count) agents in \(mlebenchDir)/agents (\(all.prefix(6).map(\.id).joined(separator: ", "))\(all.count > 6 ? ", …" : ""))",
                          fix: fix)
    }

    /// The secret name of a value written `${{ secrets.NAME }}`.
    static func secretName(_ text: String) -> String? {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard t.hasPrefix("${{"), t.hasSuffix("}}") else { return nil }
        let inner = t.dropFirst(3).dropLast(2).trimmingCharacters(in: .whitespaces)
        guard inner.hasPrefix("secrets.") else { return nil }
        let name = String(inner.dropFirst(8))
        guard let f = name.utf8.first, f == 95 || (f | 0x20 >= 97 && f | 0x20 <= 122),
              name.utf8.allSatisfy({ $0 == 95 || ($0 >= 48 && $0 <= 57) || ($0 | 0x20 >= 97 && $0 | 0x20 <= 122) }) else { return nil }
        return name
    }

    /// The variants of one config file: every top-level mapping that has a `start` (after merges).
    public static func agents(inConfig path: String) throws -> [MLEBenchAgent] {
        let doc = try YAMLDocument(path: path)
        let digest = SHA256.hex(fileAt: path) ?? ""
        var out = [MLEBenchAgent]()
        for (id, value) in doc.root.entries {
            // `vars:`, `defaults: &defaults` and other anchored templates are not agents.
            guard case .mapping = value, value["start"] != nil, !doc.anchoredKeys.contains(id) else { continue }
            func field(_ k: String) -> String { "$.\(id).\(k)" }
            guard let start = value["start"]?.pythonText, !start.isEmpty else {
                throw ConfigError(file: path, path: field("start"), found: "no start script", expected: "the path of the agent's start.sh")
            }
            let kt = value["kwargs_type"]?.pythonText ?? "argparse"
            guard let kwargsType = MLEBenchAgent.KwargsType(rawValue: kt) else {
                throw ConfigError(file: path, path: field("kwargs_type"), found: "'\(kt)'", expected: "omegaconf or argparse")
            }
            var kwargs = [MLEBenchAgent.KeyValue]()
            for (k, v) in value["kwargs"]?.entries ?? [] {
                guard let text = v.pythonText else {
                    throw ConfigError(file: path, path: field("kwargs.\(k)"), found: "a list or mapping", expected: "a scalar value")
                }
                kwargs.append(.init(k, text))
            }
            var env = [MLEBenchAgent.KeyValue](), secretEnv = [MLEBenchAgent.KeyValue]()
            for (k, v) in value["env_vars"]?.entries ?? [] {
                guard let text = v.pythonText else {
                    throw ConfigError(file: path, path: field("env_vars.\(k)"), found: "a list or mapping", expected: "a scalar value")
                }
                if let name = secretName(text) { secretEnv.append(.init(k, name)) }
                else if text.contains("${{") {
                    throw ConfigError(file: path, path: field("env_vars.\(k)"), found: "'\(text)'",
                                      expected: "a plain value or exactly `${{ secrets.NAME }}`")
                } else { env.append(.init(k, text)) }
            }
            let privileged: Bool
            switch value["privileged"] {
            case nil, .null?: privileged = false
            case .bool(let b)?: privileged = b
            default: throw ConfigError(file: path, path: field("privileged"), found: "\(value["privileged"]!.pythonText ?? "?")", expected: "true or false")
            }
            out.append(MLEBenchAgent(
                id: id, image: String(id.split(separator: "/").first ?? Substring(id)), start: start,
                dockerfile: value["dockerfile"]?.pythonText, kwargsType: kwargsType, kwargs: kwargs, env: env,
                secretEnv: secretEnv, privileged: privileged, configPath: path, configSHA256: digest))
        }
        return out
    }
}
