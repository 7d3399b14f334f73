#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodiumCore
import PodiumScheduler

/// Command-line values that override the sweep file.
public struct SweepOverrides: Sendable {
    public var split: String?
    public var competitions: [String]?
    public var attempts: Int?
    public var budgets: [String]?
    public var mlebenchDir: String?
    public var dataDir: String?
    public var inventory: String?
    public var state: String?
    public init() {}
}

/// A sweep with everything it refers to loaded and checked: config, registry, competitions, inventory, grid.
public struct SweepSetup: Sendable {
    public var configPath: String
    public var config: SweepConfig
    public var registry: CompetitionRegistry
    public var competitions: [Competition]
    public var inventory: Inventory
    public var runs: [RunSpec]
    /// The mle-bench agent the sweep runs unchanged (`$.agent.mlebench`), as its config.yaml defines it.
    public var mlebenchAgent: MLEBenchAgent?

    public static func load(configPath: String, overrides o: SweepOverrides) throws -> SweepSetup {
        var config = try SweepConfig.load(path: configPath)
        let cwd = FileManager.default.currentDirectoryPath
        if let s = o.split { config.competitions = .split(s) }
        if let c = o.competitions { config.competitions = .ids(c) }
        if let a = o.attempts { config.attempts = a }
        if let b = o.budgets {
            var parsed = [BudgetDuration]()
            for text in b {
                if BudgetDuration.isBareNumber(text) {
                    throw ConfigError(path: "--budgets", found: "'\(text)' (no unit)", expected: "durations with their unit", fix: BudgetDuration.unitFix(text))
                }
                guard let d = BudgetDuration(parsing: text) else {
                    throw ConfigError(path: "--budgets", found: "'\(text)'", expected: "durations such as 24h,100h or 90s,1h30m")
                }
                parsed.append(d)
            }
            config.budgets = parsed
        }
        if let d = o.mlebenchDir { config.mlebenchDir = resolvePath(d, relativeTo: cwd) }
        if let d = o.dataDir { config.dataDir = resolvePath(d, relativeTo: cwd) }
        if let i = o.inventory { config.inventory = resolvePath(i, relativeTo: cwd) }
        if let s = o.state { config.state = resolvePath(s, relativeTo: cwd) }
        do {
            try config.validate(source: { field in
                switch field {
                case "attempts" where o.attempts != nil: return "--attempts"
                case "budgets" where o.budgets != nil: return "--budgets"
                default: return nil
                }
            })
        } catch var e as ConfigError {
            if e.path?.hasPrefix("--") != true { e.file = configPath }
            throw e
        }

        let registry = try CompetitionRegistry.load(mlebenchDir: config.mlebenchDir)
        let source: String = o.split != nil ? "--split" : o.competitions != nil ? "--competitions" : "\(configPath): $.competitions"
        let competitions = try registry.resolve(config.competitions, source: source)
        let inventory = try Inventory.load(path: config.inventory)
        var agent: MLEBenchAgent?
        if let id = config.agent.mlebench {
            do { agent = try AgentRegistry.agent(id: id, mlebenchDir: config.mlebenchDir, source: "$.agent.mlebench") } catch var e as ConfigError {
                if e.file == nil { e.file = configPath }
                throw e
            }
        }
        let runs = expandGrid(sweep: config.sweep, agent: config.agent.name, competitions: competitions.map(\.id),
                              budgets: config.budgets, profiles: config.hardware.map(\.name), attempts: config.attempts)
        guard !runs.isEmpty else {
            throw ConfigError(file: configPath, found: "an empty grid", expected: "at least one run (competitions × budgets × hardware × attempts)")
        }
        // Every profile must fit on at least one node, or its runs would wait forever.
        for (i, p) in config.hardware.enumerated() {
            let need = Resources(p)
            guard inventory.nodes.contains(where: { need.fits(in: Resources($0)) && gpuModelMatches(required: p.gpuModel, offered: $0.gpuModel) }) else {
                let model = p.gpuModel.map { ", gpu_model '\($0)' (nodes offer: \(Set(inventory.nodes.compactMap(\.gpuModel)).sorted().joined(separator: ", ").ifEmpty("none declared")))" } ?? ""
                let disk = p.diskBytes.map { ", disk \($0 >> 30) GiB" } ?? ""
                // Which resource falls short on each node, so the fix is obvious.
                let why = inventory.nodes.map { n -> String in
                    var short = need.shortfall(in: Resources(n))
                    if !gpuModelMatches(required: p.gpuModel, offered: n.gpuModel) { short.append("gpu_model \(p.gpuModel!) (has \(n.gpuModel ?? "none declared"))") }
                    return "\(n.name) lacks " + short.joined(separator: ", ")
                }
                throw ConfigError(file: configPath, path: "$.hardware[\(i)]",
                                  found: "profile '\(p.name)' (gpus \(p.gpus), cpus \(p.cpus), memory \(p.memoryBytes >> 20) MiB\(disk)\(model)) fits no node: \(why.prefix(5).joined(separator: "; "))\(why.count > 5 ? "; …" : "")",
                                  expected: "a profile that fits on some node of \(config.inventory)",
                                  fix: "lower the profile or add a node large enough")
            }
        }
        return SweepSetup(configPath: configPath, config: config, registry: registry, competitions: competitions,
                          inventory: inventory, runs: runs, mlebenchAgent: agent)
    }

    public var profilesByName: [String: HardwareProfile] {
        Dictionary(uniqueKeysWithValues: config.hardware.map { ($0.name, $0) })
    }

    /// The node-side path of a competition's public data, and the coordinator-side answers.
    /// On `node` when it keeps the prepared data elsewhere (inventory `data_dir`); staging it there is issue 5.
    public func publicDataDir(_ competition: String, node: NodeSpec? = nil) -> String {
        if let cache = node?.dataCache { return "\(cache.path)/\(competition)/prepared/public" }
        return "\(node?.dataDir ?? config.dataDir)/\(competition)/prepared/public"
    }

    /// Data is staged lazily (issue 18): some node declares a data cache. Every node then gets a competition's data
    /// when a run needs it there, verified before the run starts.
    public var lazyData: Bool { inventory.nodes.contains { $0.dataCache != nil } }
    public func answersPath(_ competition: String) -> String {
        if let c = competitions.first(where: { $0.id == competition }) { return c.answersPath(dataDir: config.dataDir) }
        return "\(config.dataDir)/\(competition)/prepared/private/test.csv"
    }

    /// Every secret the agent names must be set in the coordinator's environment before anything is dispatched: an agent
    /// started without its API key burns its budget and the failure would count as the agent's.
    public func checkSecrets(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        for (i, name) in config.agent.secrets.enumerated() where (environment[name] ?? "").isEmpty {
            throw ConfigError(file: configPath, path: "$.agent.secrets[\(i)]",
                              found: "secret '\(name)' of agent '\(config.agent.name)' is not set in this environment",
                              expected: "every secret the agent names set (non-empty) where podium runs",
                              fix: "export \(name)=… before `podium plan`/`podium sweep`, or remove it from $.agent.secrets")
        }
        if let a = mlebenchAgent {
            for s in a.secretEnv where (environment[s.value] ?? "").isEmpty {
                throw ConfigError(file: configPath, path: "$.agent.mlebench",
                                  found: "secret '\(s.value)' of agent '\(a.id)' (its env var \(s.key), \(a.configPath)) is not set in this environment",
                                  expected: "every secret the agent's config names set (non-empty) where podium runs",
                                  fix: "export \(s.value)=… before `podium plan`/`podium sweep`")
            }
        }
    }

    /// What the sweep's agent config says that podium overrides, in words (shown before the sweep starts): MLE-bench's
    /// configs set TIME_LIMIT_SECS (and time-limit kwargs) themselves, e.g. `aide` sets 7200 under a "24 hrs" comment.
    public var agentWarnings: [String] {
        guard let a = mlebenchAgent else { return [] }
        let budgets = Set(config.budgets.map(\.seconds))
        var out = [String]()
        if let limit = a.configuredTimeLimit, budgets != [limit] {
            let timeKwargs = a.kwargs.filter { kv in
                let k = kv.key.lowercased()
                return (k.contains("time") && (k.contains("limit") || k.contains("max"))) && Int(kv.value) != nil
            }
            var w = "warning: agent '\(a.id)' (\(a.configPath)) sets TIME_LIMIT_SECS=\(limit) (\(BudgetDuration(seconds: limit))) but this sweep's budgets are \(config.budgets.map(\.description).joined(separator: ", ")); podium sets TIME_LIMIT_SECS to each run's budget"
            if !timeKwargs.isEmpty {
                w += ", and passes the kwargs \(timeKwargs.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")) unchanged: the agent may stop itself after \(BudgetDuration(seconds: Int(timeKwargs[0].value)!)) — edit the config (or use a variant) if that is not what you want"
            }
            out.append(w)
        }
        return out
    }

    /// Refuses to start a sweep whose prepared data is missing, naming the competition and the fix.
    public func checkPreparedData() throws {
        let fm = FileManager.default
        for c in competitions {
            for (path, what) in [(publicDataDir(c.id), "public data directory"), (answersPath(c.id), "answers file")]
            where !fm.fileExists(atPath: path) {
                throw ConfigError(file: configPath, path: "$.data_dir",
                                  found: "no \(what) for \(c.id) at \(path)",
                                  expected: "prepared data laid out like mle-bench (<id>/prepared/public, and the answers config.yaml names, usually <id>/prepared/private/test.csv)",
                                  fix: "run `mlebench prepare -c \(c.id)` into that directory, or pass --data-dir")
            }
        }
    }

    /// Planning figures for the grid on this inventory.
    public var estimate: PlanEstimate {
        let profiles = profilesByName
        let capacity = inventory.nodes.reduce(Resources.zero) { $0 + Resources($1) }
        return PlanEstimate(runs: runs.map { ($0.budget.seconds, Resources(profiles[$0.profile]!)) }, capacity: capacity)
    }

    /// The agent as this sweep runs it, for the provenance of every result.
    public struct AgentIdentity: Codable, Sendable, Equatable {
        public var id: String
        /// "mlebench" or "podium".
        public var source: String
        public var image: String
        public var configPath: String?
        /// The agent config file's sha256 (mlebench), or of podium's agent definition as stored with the sweep.
        public var configSHA256: String
        public var arguments: [String]
        enum CodingKeys: String, CodingKey {
            case id, source, image
            case configPath = "config_path"
            case configSHA256 = "config_sha256"
            case arguments
        }
    }

    public var agentIdentity: AgentIdentity {
        if let a = mlebenchAgent {
            return AgentIdentity(id: a.id, source: "mlebench", image: config.agent.image, configPath: a.configPath,
                                 configSHA256: a.configSHA256, arguments: a.arguments)
        }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let spec = (try? enc.encode(config.agent)).map { [UInt8]($0) } ?? []
        return AgentIdentity(id: config.agent.name, source: "podium", image: config.agent.image, configPath: configPath,
                             configSHA256: SHA256.hex(spec), arguments: config.agent.command)
    }

    /// The agent identity as stored with each configuration version (sorted keys).
    public var agentIdentityJSON: String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return (try? enc.encode(agentIdentity)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// JSON of the effective config, as stored with the sweep (no secret values: only their names are in it).
    public var configJSON: String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return (try? enc.encode(config)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
