#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The agent a sweep evaluates: its image, command, environment, and secrets referenced by name only. Or one of an
/// mle-bench checkout's agents, unchanged (`"mlebench": "aide/o1-preview"`): image, start script, kwargs, env vars and
/// secrets come from `<mlebench_dir>/agents/<name>/config.yaml`, and it runs under MLE-bench's container contract.
public struct AgentSpec: Codable, Sendable, Equatable {
    public var name: String
    public var image: String
    public var command: [String]
    public var env: [String: String]
    /// Names of secrets taken from the coordinator's environment at dispatch; values never enter the state.
    public var secrets: [String]
    /// OCI runtime for the containers (e.g. runc, sysbox-runc, runsc); nil: the engine's default.
    public var ociRuntime: String?
    /// User the agent runs as in its container ("uid[:gid]" or a name the image knows); nil: the image's.
    public var user: String?
    /// An mle-bench agent id ("aide", "aide/o1-preview"): resolved against the sweep's mlebench_dir.
    public var mlebench: String?
    /// Seconds the image check, container creation and contract setup may take before the attempt is an infra error
    /// (the budget starts after them).
    public var setupTimeout: BudgetDuration

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, image, command, env, secrets
        case ociRuntime = "oci_runtime"
        case user, mlebench
        case setupTimeout = "setup_timeout"
    }

    public init(name: String, image: String, command: [String], env: [String: String] = [:], secrets: [String] = []) {
        self.name = name; self.image = image; self.command = command; self.env = env; self.secrets = secrets
        self.setupTimeout = BudgetDuration(seconds: 600)
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        mlebench = try c.decodeIfPresent(String.self, forKey: .mlebench)
        if let id = mlebench {
            // MLE-bench names its images by the id's first part (`docker build -t aide agents/aide`).
            name = try c.decodeIfPresent(String.self, forKey: .name) ?? id.replacingOccurrences(of: "/", with: "-")
            image = try c.decodeIfPresent(String.self, forKey: .image) ?? String(id.split(separator: "/").first ?? "")
        } else {
            name = try c.decode(String.self, forKey: .name)
            image = try c.decode(String.self, forKey: .image)
        }
        command = try c.decodeIfPresent([String].self, forKey: .command) ?? []
        env = try c.decodeIfPresent([String: String].self, forKey: .env) ?? [:]
        secrets = try c.decodeIfPresent([String].self, forKey: .secrets) ?? []
        ociRuntime = try c.decodeIfPresent(String.self, forKey: .ociRuntime)
        user = try c.decodeIfPresent(String.self, forKey: .user)
        setupTimeout = try c.decodeIfPresent(BudgetDuration.self, forKey: .setupTimeout) ?? BudgetDuration(seconds: 600)
        if mlebench != nil && !command.isEmpty {
            throw ConfigError(path: jsonPath(decoder.codingPath + [CodingKeys.command]), found: "a command with an mlebench agent",
                              expected: "no command: MLE-bench's agents run `bash /home/agent/start.sh` with their kwargs",
                              fix: "drop $.agent.command, or drop $.agent.mlebench to run your own command")
        }
    }
}

/// The resources one run asks for. `container_config` reads MLE-bench's format (`environment/config/container_configs/
/// *.json`: mem_limit, shm_size, nano_cpus, gpus, runtime, privileged); fields given beside it win.
public struct HardwareProfile: Codable, Sendable, Equatable, Hashable {
    public var name: String
    public var gpus: Int
    public var cpus: Double
    public var memoryBytes: Int64
    public var shmBytes: Int64
    /// GPU model the runs need ("H100", "A100-80GB"…; matched as a case-insensitive substring of a node's model).
    public var gpuModel: String?
    /// Scratch disk each run reserves on its node.
    public var diskBytes: Int64?
    /// OCI runtime for this profile's containers (e.g. sysbox-runc); nil: the agent's, else the engine's default.
    public var ociRuntime: String?
    public var privileged: Bool

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, gpus, cpus, memory, shm
        case gpuModel = "gpu_model"
        case disk
        case ociRuntime = "runtime"
        case privileged
        case containerConfig = "container_config"
    }

    public init(name: String, gpus: Int, cpus: Double, memoryBytes: Int64, shmBytes: Int64, gpuModel: String? = nil, diskBytes: Int64? = nil) {
        self.name = name; self.gpus = gpus; self.cpus = cpus; self.memoryBytes = memoryBytes; self.shmBytes = shmBytes
        self.gpuModel = gpuModel; self.diskBytes = diskBytes; self.privileged = false
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        var file: MLEBenchContainerConfig?
        if let cc = try c.decodeIfPresent(String.self, forKey: .containerConfig) {
            let base = decoder.userInfo[configBaseDirectoryKey] as? String ?? "."
            file = try MLEBenchContainerConfig.load(path: resolvePath(cc, relativeTo: base),
                                                    at: jsonPath(decoder.codingPath + [CodingKeys.containerConfig]))
        }
        let at = { (k: CodingKeys) in jsonPath(decoder.codingPath + [k]) }
        if let g = file?.gpus, g < 0, !c.contains(.gpus) {
            throw ConfigError(path: at(.containerConfig), found: "gpus -1 (every GPU of the machine, in MLE-bench's container config)",
                              expected: "a GPU count podium can schedule", fix: "add \"gpus\": N to this profile")
        }
        gpus = try c.decodeIfPresent(Int.self, forKey: .gpus) ?? file?.gpus ?? 0
        cpus = try c.decodeIfPresent(Double.self, forKey: .cpus) ?? file?.cpus ?? 1
        if !c.contains(.memory), let file, file.memoryBytes == nil {
            throw ConfigError(path: at(.containerConfig), found: "mem_limit null (no memory limit, in MLE-bench's container config)",
                              expected: "a memory size podium can schedule and enforce", fix: "add \"memory\": \"…g\" to this profile")
        }
        memoryBytes = c.contains(.memory) ? try decodeSize(c, .memory, default: 0) : file?.memoryBytes ?? 4 << 30
        shmBytes = c.contains(.shm) ? try decodeSize(c, .shm, default: 0) : file?.shmBytes ?? 256 << 20
        gpuModel = try c.decodeIfPresent(String.self, forKey: .gpuModel)
        diskBytes = c.contains(.disk) ? try decodeSize(c, .disk, default: 0) : nil
        ociRuntime = try c.decodeIfPresent(String.self, forKey: .ociRuntime) ?? file?.runtime
        privileged = try c.decodeIfPresent(Bool.self, forKey: .privileged) ?? file?.privileged ?? false
        guard gpus >= 0 else {
            throw ConfigError(path: at(.gpus), found: "\(gpus)", expected: "gpus ≥ 0")
        }
        guard cpus > 0 else {
            throw ConfigError(path: at(.cpus), found: "\(cpus)", expected: "cpus > 0")
        }
    }

    /// The resolved values (a container config's are folded in), so a stored config stands on its own.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(gpus, forKey: .gpus)
        try c.encode(cpus, forKey: .cpus)
        try c.encode(memoryBytes, forKey: .memory)
        try c.encode(shmBytes, forKey: .shm)
        try c.encodeIfPresent(gpuModel, forKey: .gpuModel)
        try c.encodeIfPresent(diskBytes, forKey: .disk)
        try c.encodeIfPresent(ociRuntime, forKey: .ociRuntime)
        if privileged { try c.encode(privileged, forKey: .privileged) }
    }
}

/// Where the config file being decoded lives (relative paths inside it resolve against it).
public let configBaseDirectoryKey = CodingUserInfoKey(rawValue: "podium.configBaseDirectory")!

/// MLE-bench's container config (`environment/config/container_configs/*.json`, handed to docker-py's `containers.run`).
public struct MLEBenchContainerConfig: Sendable, Equatable {
    public var memoryBytes: Int64?
    public var shmBytes: Int64?
    public var cpus: Double?
    public var gpus: Int?
    public var runtime: String?
    public var privileged: Bool?

    static let known = ["mem_limit", "shm_size", "nano_cpus", "gpus", "runtime", "privileged"]

    public static func load(path: String, at field: String) throws -> MLEBenchContainerConfig {
        guard let data = FileManager.default.contents(atPath: path),
              let object = try? JSONDecoder().decode([String: JSONScalar].self, from: data) else {
            throw ConfigError(path: field, found: "no readable JSON object at \(path)", expected: "an MLE-bench container config (JSON)")
        }
        for key in object.keys where !known.contains(key) {
            throw ConfigError(path: "\(field) → \(path): $.\(key)", found: "'\(key)', which podium does not apply",
                              expected: "only \(known.joined(separator: ", "))",
                              fix: "remove it, or ask for it to be supported (podium never ignores a setting silently)")
        }
        func size(_ key: String) throws -> Int64? {
            switch object[key] {
            case nil, .null?: return nil
            case .number(let n)?: return Int64(n)
            case .string(let t)?:
                // docker-py takes "4G", "512m", "1g": the same units as podium.
                guard let n = parseByteSize(t) else {
                    throw ConfigError(path: "\(field) → \(path): $.\(key)", found: "'\(t)'", expected: "a size such as \"4G\" or \"512m\"")
                }
                return n
            default: throw ConfigError(path: "\(field) → \(path): $.\(key)", found: "a value of another type", expected: "a size such as \"4G\"")
            }
        }
        var out = MLEBenchContainerConfig()
        out.memoryBytes = try size("mem_limit")
        out.shmBytes = try size("shm_size")
        if case .number(let n)? = object["nano_cpus"] { out.cpus = n / 1e9 }
        if case .number(let n)? = object["gpus"] { out.gpus = Int(n) }
        if case .string(let r)? = object["runtime"] { out.runtime = r }
        if case .bool(let b)? = object["privileged"] { out.privileged = b }
        return out
    }
}

/// A JSON scalar (what container configs hold).
enum JSONScalar: Decodable {
    case null, bool(Bool), number(Double), string(String), other
    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null } else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) } else if let s = try? c.decode(String.self) { self = .string(s) }
        else { self = .other }
    }
}

/// A size field: a string with a unit ("16g", "512m", "2GiB"), or a number of bytes of at least 1 MiB. A bare small
/// number ("memory": "120") is refused: it is almost always gigabytes meant, and 120 bytes would fail hours later.
func decodeSize<K: CodingKey>(_ c: KeyedDecodingContainer<K>, _ key: K, default def: Int64) throws -> Int64 {
    guard c.contains(key) else { return def }
    let where_ = jsonPath(c.codingPath + [key])
    if let n = try? c.decode(Int64.self, forKey: key) {
        guard n >= 1 << 20 || n == 0 else {
            throw ConfigError(path: where_, found: "\(n) (bytes)", expected: "a size with its unit, such as \"\(n)g\" or \"\(n)m\"",
                              fix: "write the unit: a bare number is bytes")
        }
        return n
    }
    guard let text = try? c.decode(String.self, forKey: key) else {
        throw ConfigError(path: where_, found: "a value of another type", expected: "a size such as \"16g\" or \"512m\"")
    }
    guard let n = parseByteSize(text) else {
        throw ConfigError(path: where_, found: "'\(text)'", expected: "a size such as \"16g\", \"512m\" or a number of bytes")
    }
    if text.trimmingCharacters(in: .whitespaces).allSatisfy({ $0.isNumber || $0 == "." }), n < 1 << 20 {
        throw ConfigError(path: where_, found: "'\(text)' (no unit: \(n) bytes)", expected: "a size with its unit, such as \"\(text)g\" or \"\(text)m\"",
                          fix: "write the unit")
    }
    return n
}

/// Which competitions a sweep covers: a split name, an explicit list, or a file of ids (one per line).
public enum CompetitionSelection: Codable, Sendable, Equatable {
    case split(String)
    case ids([String])
    case file(String)

    enum CodingKeys: String, CodingKey, CaseIterable { case split, ids, file }

    public init(from decoder: any Decoder) throws {
        if let single = try? decoder.singleValueContainer() {
            if let s = try? single.decode(String.self) { self = .split(s); return }
            if let list = try? single.decode([String].self) { self = .ids(list); return }
        }
        try decoder.rejectUnknownKeys(CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let present = CodingKeys.allCases.filter { c.contains($0) }
        guard present.count == 1 else {
            throw ConfigError(path: jsonPath(decoder.codingPath), found: present.isEmpty ? "none of split, ids, file" : "\(present.map(\.rawValue))",
                              expected: "exactly one of \"split\", \"ids\" or \"file\"")
        }
        switch present[0] {
        case .split: self = .split(try c.decode(String.self, forKey: .split))
        case .ids: self = .ids(try c.decode([String].self, forKey: .ids))
        case .file: self = .file(try c.decode(String.self, forKey: .file))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .split(let s): try c.encode(s, forKey: .split)
        case .ids(let ids): try c.encode(ids, forKey: .ids)
        case .file(let f): try c.encode(f, forKey: .file)
        }
    }
}

/// A sweep as written in scheduler.json. Relative paths are resolved against the file's directory.
public struct SweepConfig: Codable, Sendable, Equatable {
    public var sweep: String
    public var agent: AgentSpec
    public var competitions: CompetitionSelection
    public var attempts: Int
    public var budgets: [BudgetDuration]
    public var hardware: [HardwareProfile]
    public var snapshotInterval: BudgetDuration
    public var gracePeriod: BudgetDuration
    public var inventory: String
    public var mlebenchDir: String
    public var dataDir: String
    public var state: String
    public var network: Bool
    public var maxInfraRetries: Int
    /// How long a node may stay unreachable before its attempts are declared lost and requeued elsewhere.
    public var lostAfter: BudgetDuration
    /// This sweep's weight in the fair share of nodes it shares with other sweeps (default 1; 2 gets twice the contended
    /// resources of a sweep of 1). An operational setting: not part of the sweep's identity.
    public var share: Double = 1

    enum CodingKeys: String, CodingKey, CaseIterable {
        case sweep, agent, competitions, attempts, budgets, hardware
        case snapshotInterval = "snapshot_interval"
        case gracePeriod = "grace_period"
        case inventory
        case mlebenchDir = "mlebench_dir"
        case dataDir = "data_dir"
        case state, network
        case maxInfraRetries = "max_infra_retries"
        case lostAfter = "lost_after"
        case share
        case comment = "$comment"
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        sweep = try c.decode(String.self, forKey: .sweep)
        agent = try c.decode(AgentSpec.self, forKey: .agent)
        competitions = try c.decode(CompetitionSelection.self, forKey: .competitions)
        attempts = try c.decodeIfPresent(Int.self, forKey: .attempts) ?? 1
        budgets = try c.decode([BudgetDuration].self, forKey: .budgets)
        hardware = try c.decodeIfPresent([HardwareProfile].self, forKey: .hardware)
            ?? [HardwareProfile(name: "default", gpus: 1, cpus: 4, memoryBytes: 32 << 30, shmBytes: 4 << 30)]
        snapshotInterval = try c.decodeIfPresent(BudgetDuration.self, forKey: .snapshotInterval) ?? BudgetDuration(seconds: 600)
        gracePeriod = try c.decodeIfPresent(BudgetDuration.self, forKey: .gracePeriod) ?? BudgetDuration(seconds: 60)
        inventory = try c.decodeIfPresent(String.self, forKey: .inventory) ?? "workers/local.json"
        mlebenchDir = try c.decode(String.self, forKey: .mlebenchDir)
        dataDir = try c.decode(String.self, forKey: .dataDir)
        state = try c.decodeIfPresent(String.self, forKey: .state) ?? "state/\(sweep).sqlite"
        network = try c.decodeIfPresent(Bool.self, forKey: .network) ?? false
        maxInfraRetries = try c.decodeIfPresent(Int.self, forKey: .maxInfraRetries) ?? 3
        lostAfter = try c.decodeIfPresent(BudgetDuration.self, forKey: .lostAfter) ?? BudgetDuration(seconds: 600)
        share = try c.decodeIfPresent(Double.self, forKey: .share) ?? 1
        try validate(codingPath: decoder.codingPath)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(sweep, forKey: .sweep)
        try c.encode(agent, forKey: .agent)
        try c.encode(competitions, forKey: .competitions)
        try c.encode(attempts, forKey: .attempts)
        try c.encode(budgets, forKey: .budgets)
        try c.encode(hardware, forKey: .hardware)
        try c.encode(snapshotInterval, forKey: .snapshotInterval)
        try c.encode(gracePeriod, forKey: .gracePeriod)
        try c.encode(inventory, forKey: .inventory)
        try c.encode(mlebenchDir, forKey: .mlebenchDir)
        try c.encode(dataDir, forKey: .dataDir)
        try c.encode(state, forKey: .state)
        try c.encode(network, forKey: .network)
        try c.encode(maxInfraRetries, forKey: .maxInfraRetries)
        try c.encode(lostAfter, forKey: .lostAfter)
        if share != 1 { try c.encode(share, forKey: .share) }
    }

    /// Checks the values a flag may also have set; `codingPath` or `flag` says where to point the user.
    public func validate(codingPath: [any CodingKey] = [], source: (String) -> String? = { _ in nil }) throws {
        func at(_ key: CodingKeys) -> String { source(key.rawValue) ?? jsonPath(codingPath + [key]) }
        guard attempts >= 1 else {
            throw ConfigError(path: at(.attempts), found: "\(attempts)", expected: "attempts ≥ 1")
        }
        guard !budgets.isEmpty else {
            throw ConfigError(path: at(.budgets), found: "an empty list", expected: "at least one budget such as \"24h\"")
        }
        guard Set(budgets).count == budgets.count else {
            throw ConfigError(path: at(.budgets), found: "\(budgets)", expected: "each budget once")
        }
        guard !hardware.isEmpty else {
            throw ConfigError(path: at(.hardware), found: "an empty list", expected: "at least one hardware profile")
        }
        guard Set(hardware.map(\.name)).count == hardware.count else {
            throw ConfigError(path: at(.hardware), found: "\(hardware.map(\.name))", expected: "unique profile names")
        }
        guard isSafeName(sweep) else {
            throw ConfigError(path: at(.sweep), found: "'\(sweep)'", expected: "a name of letters, digits, '-', '_' and '.'")
        }
        guard share > 0, share <= 1000, share.isFinite else {
            throw ConfigError(path: at(.share), found: "\(share)", expected: "a fair-share weight above 0 (default 1; 2 gets twice the contended capacity of 1), at most 1000")
        }
        guard maxInfraRetries >= 0 else {
            throw ConfigError(path: at(.maxInfraRetries), found: "\(maxInfraRetries)", expected: "max_infra_retries ≥ 0")
        }
    }

    /// The sweep name and inventory of a file shaped like a sweep file (nil for anything else, an inventory included):
    /// where an inventory is expected, says which file is which.
    public static func sweepShape(path: String) -> (sweep: String, inventory: String?)? {
        struct Shape: Decodable { var sweep: String; var inventory: String? }
        guard let data = FileManager.default.contents(atPath: path), let s = try? JSONDecoder().decode(Shape.self, from: data) else { return nil }
        return (s.sweep, s.inventory)
    }

    /// Loads a sweep file, resolving its relative paths against the file's directory.
    public static func load(path: String) throws -> SweepConfig {
        var config = try decodeConfigFile(SweepConfig.self, path: path)
        let base = absolutePath(directoryOf(path))
        config.inventory = resolvePath(config.inventory, relativeTo: base)
        config.mlebenchDir = resolvePath(config.mlebenchDir, relativeTo: base)
        config.dataDir = resolvePath(config.dataDir, relativeTo: base)
        config.state = resolvePath(config.state, relativeTo: base)
        if case .file(let f) = config.competitions { config.competitions = .file(resolvePath(f, relativeTo: base)) }
        return config
    }
}

public func isSafeName(_ s: String) -> Bool {
    !s.isEmpty && s.utf8.allSatisfy { c in
        (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 45 || c == 95 || c == 46
    } && s != "." && s != ".."
}

public func directoryOf(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    let dir = String(path[..<slash])
    return dir.isEmpty ? "/" : dir
}

/// The path made absolute against the current directory, with "." and ".." parts folded.
public func absolutePath(_ path: String) -> String {
    let full = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    var parts = [Substring]()
    for p in full.split(separator: "/") {
        if p == "." || p.isEmpty { continue }
        if p == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
        parts.append(p)
    }
    return "/" + parts.joined(separator: "/")
}

public func resolvePath(_ path: String, relativeTo base: String) -> String {
    if path.hasPrefix("/") { return path }
    if path.hasPrefix("~/"), let home = ProcessInfo.processInfo.environment["HOME"] { return home + path.dropFirst(1) }
    return absolutePath(base == "." ? path : base + "/" + path)
}
