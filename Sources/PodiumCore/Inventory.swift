#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How the coordinator reaches a node.
public enum TransportKind: String, Codable, Sendable, CaseIterable {
    /// The coordinator's own machine: `podium-worker` runs as a child process, no SSH.
    case local
    case ssh
}

/// One worker node of the inventory (workers/*.json).
/// How a node runs attempts: Docker containers (isolated), or plain processes (no isolation; GPU machines without Docker).
public enum RuntimeKind: String, Codable, Sendable, CaseIterable {
    /// `slurm`: the node is a Slurm cluster's login node; every attempt is a Slurm job (see `SlurmSettings`).
    case docker, process, slurm
}

/// How a Slurm target submits attempts (inventory `"slurm": {…}` on a node with `"runtime": "slurm"`). The node's
/// `work_dir` must be on the filesystem the cluster's compute nodes share: the job writes the attempt's files there.
public struct SlurmSettings: Codable, Sendable, Equatable, Hashable {
    public var partition: String?
    public var account: String?
    public var qos: String?
    public var constraint: String?
    /// Further sbatch flags, word by word (e.g. ["--exclusive"]).
    public var sbatchArgs: [String] = []
    /// How GPUs are asked for: "gres" (`--gres=gpu:N`, default) or "gpus" (`--gpus=N`).
    public var gpuFlag: String = "gres"
    /// The cluster's slurm.conf when it is not the default one (SLURM_CONF for every Slurm command podium runs).
    public var conf: String?
    /// Seconds added to budget + grace for Slurm's `--time` (a backstop; podium's worker stops the agent at its budget).
    public var timeMarginSeconds: Int = 600

    enum CodingKeys: String, CodingKey, CaseIterable {
        case partition, account, qos, constraint, conf
        case sbatchArgs = "sbatch_args"
        case gpuFlag = "gpu_flag"
        case timeMarginSeconds = "time_margin"
    }

    public init(partition: String? = nil) { self.partition = partition }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        partition = try c.decodeIfPresent(String.self, forKey: .partition)
        account = try c.decodeIfPresent(String.self, forKey: .account)
        qos = try c.decodeIfPresent(String.self, forKey: .qos)
        constraint = try c.decodeIfPresent(String.self, forKey: .constraint)
        conf = try c.decodeIfPresent(String.self, forKey: .conf)
        sbatchArgs = try c.decodeIfPresent([String].self, forKey: .sbatchArgs) ?? []
        gpuFlag = try c.decodeIfPresent(String.self, forKey: .gpuFlag) ?? "gres"
        guard gpuFlag == "gres" || gpuFlag == "gpus" else {
            throw ConfigError(path: jsonPath(decoder.codingPath + [CodingKeys.gpuFlag]), found: "'\(gpuFlag)'",
                              expected: "\"gres\" (--gres=gpu:N) or \"gpus\" (--gpus=N)")
        }
        if let t = try c.decodeIfPresent(String.self, forKey: .timeMarginSeconds) {
            guard let d = BudgetDuration(parsing: t) else {
                throw ConfigError(path: jsonPath(decoder.codingPath + [CodingKeys.timeMarginSeconds]), found: "'\(t)'", expected: "a duration such as \"10m\"")
            }
            timeMarginSeconds = d.seconds
        }
        for (key, value) in [(CodingKeys.partition, partition), (.account, account), (.qos, qos), (.constraint, constraint)] {
            if let v = value, v.isEmpty || v.contains(where: { $0.isWhitespace }) {
                throw ConfigError(path: jsonPath(decoder.codingPath + [key]), found: "'\(v)'", expected: "a Slurm name without spaces")
            }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(partition, forKey: .partition)
        try c.encodeIfPresent(account, forKey: .account)
        try c.encodeIfPresent(qos, forKey: .qos)
        try c.encodeIfPresent(constraint, forKey: .constraint)
        try c.encodeIfPresent(conf, forKey: .conf)
        if !sbatchArgs.isEmpty { try c.encode(sbatchArgs, forKey: .sbatchArgs) }
        if gpuFlag != "gres" { try c.encode(gpuFlag, forKey: .gpuFlag) }
        if timeMarginSeconds != 600 { try c.encode("\(timeMarginSeconds)s", forKey: .timeMarginSeconds) }
    }
}

public struct NodeSpec: Codable, Sendable, Equatable {
    public var name: String
    public var transport: TransportKind
    public var host: String?
    public var port: Int?
    public var user: String?
    public var identityFile: String?
    public var knownHosts: String?
    /// Name of an environment variable holding the identity file's passphrase.
    public var passphraseEnv: String?
    /// SSH keepalive interval in seconds (a peer silent for 3 intervals is dead; default 15).
    public var keepaliveSeconds: Int?
    /// Capacity the scheduler places against. On a machine without GPUs, `gpus` declares GPU *slots* (a stand-in, named as such).
    public var gpus: Int
    public var cpus: Double
    public var memoryBytes: Int64
    /// Command that starts the worker on the node (default: `podium-worker` next to `podium`, or on PATH).
    public var workerCommand: [String]?
    /// Where the node keeps run directories.
    public var workDir: String?
    /// Where the node keeps prepared public data (`<id>/prepared/public`); default: the sweep's data_dir.
    public var dataDir: String?
    /// A data cache of bounded size (issue 18): competitions' data is staged there when a run needs it, least
    /// recently used data evicted. nil: the node holds every competition's data (`data_dir`, staged up front).
    public var dataCache: DataCache?

    public struct DataCache: Codable, Sendable, Equatable, Hashable {
        public var path: String
        public var maxBytes: Int64
        /// Where the node gets the data: pushed by the coordinator over SSH (default), or pulled by the node itself.
        public var source: DataSource = .push
        enum CodingKeys: String, CodingKey, CaseIterable { case path, maxBytes = "max_bytes", source }
        public init(path: String, maxBytes: Int64, source: DataSource = .push) {
            self.path = path; self.maxBytes = maxBytes; self.source = source
        }
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(path, forKey: .path)
            try c.encode(maxBytes, forKey: .maxBytes)
            if source != .push { try c.encode(source.text, forKey: .source) }
        }
        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            path = try c.decode(String.self, forKey: .path)
            if let text = try c.decodeIfPresent(String.self, forKey: .source) {
                if text.hasPrefix("https://") {
                    throw ConfigError(path: jsonPath(decoder.codingPath + [CodingKeys.source]), found: "'\(text)'",
                                      expected: "an http:// mirror: podium-worker's client speaks plain HTTP, not TLS, yet (every file is verified by sha256 against the coordinator's manifest either way); serve the mirror over http:// on the cluster network, or use a shared path")
                }
                guard let s = DataSource(text) else {
                    throw ConfigError(path: jsonPath(decoder.codingPath + [CodingKeys.source]), found: "'\(text)'",
                                      expected: "\"push\" (the coordinator sends the data over SSH), an absolute path the node can read (a shared filesystem holding <competition>/prepared/public like the data_dir), or an http:// URL prefix of a mirror laid out the same way")
                }
                source = s
            }
            let at = jsonPath(decoder.codingPath + [CodingKeys.maxBytes])
            if let text = try? c.decode(String.self, forKey: .maxBytes) {
                // "1TB", "500GB" (decimal, as disks are sold) or "900g", "2TiB" (binary).
                guard let n = parseDecimalByteSize(text) ?? parseByteSize(text), text.contains(where: \.isLetter), n > 0 else {
                    throw ConfigError(path: at, found: "'\(text)'", expected: "a size with its unit, such as \"1TB\", \"500GB\" or \"2TiB\"")
                }
                maxBytes = n
            } else {
                guard let n = try? c.decode(Int64.self, forKey: .maxBytes), n >= 1 << 30 else {
                    throw ConfigError(path: at, found: "a value that is not a size", expected: "a size with its unit, such as \"1TB\"")
                }
                maxBytes = n
            }
            guard path.hasPrefix("/") || path.hasPrefix("~/") else {
                throw ConfigError(path: jsonPath(decoder.codingPath + [CodingKeys.path]), found: "'\(path)'", expected: "an absolute path on the node")
            }
        }
    }
    /// Where a node's data cache gets competitions' public data. The manifest and its sha256 digests always come from
    /// the coordinator; a source serving different bytes fails the node's verification.
    public enum DataSource: Sendable, Equatable, Hashable {
        case push
        /// A directory the node can read (shared filesystem), laid out like the coordinator's data_dir.
        case shared(String)
        /// An http:// URL prefix (a local mirror laid out like data_dir); files are fetched with ranged resume.
        case http(String)

        public init?(_ text: String) {
            if text == "push" { self = .push } else if text.hasPrefix("/") { self = .shared(text) }
            else if text.hasPrefix("http://"), text.count > 7 { self = .http(text) } else { return nil }
        }
        public var text: String {
            switch self {
            case .push: return "push"
            case .shared(let p): return p
            case .http(let u): return u
            }
        }
    }
    /// How the worker starts agents: `docker` (isolated containers), `process` (no isolation; machines without Docker)
    /// or `slurm` (one Slurm job per attempt; the node is the cluster's login node).
    public var runtime: RuntimeKind
    /// Submission settings of a `slurm` node.
    public var slurm: SlurmSettings?
    /// The node's GPU model (e.g. "NVIDIA H100 80GB HBM3", as nvidia-smi names it); profiles with `gpu_model` go
    /// only to nodes whose model contains it.
    public var gpuModel: String?
    /// Scratch disk the node offers for runs (each run reserves its profile's `disk`); unset: not limited.
    public var diskBytes: Int64?
    /// The declared cpus/memory may exceed the machine's on purpose (agents that mostly wait); `nodes check` then notes
    /// the difference instead of failing the node.
    public var oversubscribe: Bool = false

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, transport, host, port, user
        case identityFile = "identity_file"
        case knownHosts = "known_hosts"
        case passphraseEnv = "passphrase_env"
        case keepaliveSeconds = "keepalive"
        case gpus, cpus, memory
        case workerCommand = "worker_command"
        case workDir = "work_dir"
        case dataDir = "data_dir"
        case dataCache = "data_cache"
        case runtime
        case gpuModel = "gpu_model"
        case disk
        case oversubscribe
        case slurm
        case comment = "$comment"
    }

    public init(name: String, transport: TransportKind = .local, gpus: Int = 0, cpus: Double, memoryBytes: Int64,
                workDir: String? = nil, workerCommand: [String]? = nil) {
        self.name = name; self.transport = transport; self.gpus = gpus; self.cpus = cpus
        self.memoryBytes = memoryBytes; self.workDir = workDir; self.workerCommand = workerCommand
        self.runtime = .docker
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        host = try c.decodeIfPresent(String.self, forKey: .host)
        if let t = try c.decodeIfPresent(String.self, forKey: .transport) {
            guard let kind = TransportKind(rawValue: t) else {
                throw ConfigError(path: jsonPath(decoder.codingPath + [CodingKeys.transport]), found: "'\(t)'",
                                  expected: "one of \"local\" (this machine) or \"ssh\"",
                                  fix: TransportKind(rawValue: t.lowercased()).map { "write \"\($0.rawValue)\" (lower case)" })
            }
            transport = kind
        } else {
            transport = host == nil ? .local : .ssh
        }
        port = try c.decodeIfPresent(Int.self, forKey: .port)
        user = try c.decodeIfPresent(String.self, forKey: .user)
        identityFile = try c.decodeIfPresent(String.self, forKey: .identityFile)
        knownHosts = try c.decodeIfPresent(String.self, forKey: .knownHosts)
        passphraseEnv = try c.decodeIfPresent(String.self, forKey: .passphraseEnv)
        keepaliveSeconds = try c.decodeIfPresent(Int.self, forKey: .keepaliveSeconds)
        gpus = try c.decodeIfPresent(Int.self, forKey: .gpus) ?? 0
        cpus = try c.decodeIfPresent(Double.self, forKey: .cpus) ?? 1
        memoryBytes = try decodeSize(c, .memory, default: 8 << 30)
        workerCommand = try c.decodeIfPresent([String].self, forKey: .workerCommand)
        workDir = try c.decodeIfPresent(String.self, forKey: .workDir)
        let runtimeText = try c.decodeIfPresent(String.self, forKey: .runtime) ?? RuntimeKind.docker.rawValue
        dataDir = try c.decodeIfPresent(String.self, forKey: .dataDir)
        dataCache = try c.decodeIfPresent(DataCache.self, forKey: .dataCache)
        gpuModel = try c.decodeIfPresent(String.self, forKey: .gpuModel)
        diskBytes = c.contains(.disk) ? try decodeSize(c, .disk, default: 0) : nil
        oversubscribe = try c.decodeIfPresent(Bool.self, forKey: .oversubscribe) ?? false
        guard let runtime = RuntimeKind(rawValue: runtimeText) else {
            throw ConfigError(path: jsonPath(decoder.codingPath + [CodingKeys.runtime]), found: "'\(runtimeText)'",
                              expected: "\"docker\", \"process\" or \"slurm\"")
        }
        self.runtime = runtime
        slurm = try c.decodeIfPresent(SlurmSettings.self, forKey: .slurm)
        if slurm != nil && runtime != .slurm {
            throw ConfigError(path: jsonPath(decoder.codingPath + [CodingKeys.slurm]), found: "Slurm settings on a \(runtime.rawValue) node",
                              expected: "\"runtime\": \"slurm\" beside them", fix: "add \"runtime\": \"slurm\", or drop \"slurm\"")
        }
        if runtime == .slurm && slurm == nil { slurm = SlurmSettings() }
        if transport == .ssh && host == nil {
            throw ConfigError(path: jsonPath(decoder.codingPath + [CodingKeys.host]), found: "nothing",
                              expected: "an ssh node needs \"host\"", fix: "add \"host\" or set \"transport\": \"local\"")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(transport, forKey: .transport)
        try c.encodeIfPresent(host, forKey: .host)
        try c.encodeIfPresent(port, forKey: .port)
        try c.encodeIfPresent(user, forKey: .user)
        try c.encodeIfPresent(identityFile, forKey: .identityFile)
        try c.encodeIfPresent(knownHosts, forKey: .knownHosts)
        try c.encodeIfPresent(passphraseEnv, forKey: .passphraseEnv)
        try c.encodeIfPresent(keepaliveSeconds, forKey: .keepaliveSeconds)
        try c.encodeIfPresent(workerCommand, forKey: .workerCommand)
        try c.encodeIfPresent(workDir, forKey: .workDir)
        try c.encodeIfPresent(dataDir, forKey: .dataDir)
        try c.encodeIfPresent(dataCache, forKey: .dataCache)
        try c.encode(gpus, forKey: .gpus)
        try c.encode(cpus, forKey: .cpus)
        try c.encode(memoryBytes, forKey: .memory)
        try c.encode(runtime, forKey: .runtime)
        try c.encodeIfPresent(gpuModel, forKey: .gpuModel)
        try c.encodeIfPresent(diskBytes, forKey: .disk)
        if oversubscribe { try c.encode(oversubscribe, forKey: .oversubscribe) }
        try c.encodeIfPresent(slurm, forKey: .slurm)
    }
}

/// The worker nodes a sweep may use.
public struct Inventory: Codable, Sendable, Equatable {
    public var nodes: [NodeSpec]

    enum CodingKeys: String, CodingKey, CaseIterable { case nodes, comment = "$comment" }

    public init(nodes: [NodeSpec]) { self.nodes = nodes }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        nodes = try c.decode([NodeSpec].self, forKey: .nodes)
        guard !nodes.isEmpty else {
            throw ConfigError(path: "$.nodes", found: "an empty list", expected: "at least one node")
        }
        var seen = Set<String>()
        for (i, n) in nodes.enumerated() where !seen.insert(n.name).inserted || !isSafeName(n.name) {
            throw ConfigError(path: "$.nodes[\(i)].name", found: "'\(n.name)'", expected: "unique node names of letters, digits, '-', '_', '.'")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(nodes, forKey: .nodes)
    }

    public static func load(path: String) throws -> Inventory {
        var inv: Inventory
        do {
            inv = try decodeConfigFile(Inventory.self, path: path)
        } catch var e as ConfigError {
            // A sweep file where an inventory belongs (`--inventory sweep.json`): say which file is which.
            if let sweep = SweepConfig.sweepShape(path: path) {
                e.found = "a sweep file (sweep '\(sweep.sweep)'), not an inventory"
                e.expected = "an inventory: {\"nodes\": [...]}"
                e.fix = "give the sweep file as the command's first argument (it names its inventory: \(sweep.inventory ?? "workers/local.json")), or --inventory the inventory file itself"
            }
            throw e
        }
        let base = absolutePath(directoryOf(path))
        for i in inv.nodes.indices {
            if let w = inv.nodes[i].workDir { inv.nodes[i].workDir = resolvePath(w, relativeTo: base) }
            if let k = inv.nodes[i].identityFile { inv.nodes[i].identityFile = resolvePath(k, relativeTo: base) }
            if let k = inv.nodes[i].knownHosts { inv.nodes[i].knownHosts = resolvePath(k, relativeTo: base) }
        }
        return inv
    }

    public var totalGPUs: Int { nodes.reduce(0) { $0 + $1.gpus } }
}
