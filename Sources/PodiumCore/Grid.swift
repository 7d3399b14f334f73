/// One cell of the sweep grid: what a run is, independent of where or how often it is tried.
public struct RunSpec: Codable, Sendable, Equatable, Hashable {
    /// Stable id derived from the cell, so expanding the same sweep twice yields the same ids.
    public var id: String
    public var sweep: String
    public var agent: String
    public var competition: String
    public var budget: BudgetDuration
    public var profile: String
    /// 1-based attempt (seed) index.
    public var attempt: Int
    /// The sweep configuration version the run belongs to (1 unless a changed configuration was accepted on resume).
    public var configVersion: Int = 1

    public init(sweep: String, agent: String, competition: String, budget: BudgetDuration, profile: String, attempt: Int) {
        self.sweep = sweep; self.agent = agent; self.competition = competition
        self.budget = budget; self.profile = profile; self.attempt = attempt
        self.id = RunSpec.stableID(sweep: sweep, agent: agent, competition: competition, budget: budget, profile: profile, attempt: attempt)
    }

    /// Version 1 keeps the ids of states from before configuration versions; a later version's runs are runs of their own.
    public static func stableID(sweep: String, agent: String, competition: String, budget: BudgetDuration, profile: String, attempt: Int,
                                configVersion: Int = 1) -> String {
        var parts = [sweep, agent, competition, String(budget.seconds), profile, String(attempt)]
        if configVersion > 1 { parts.append("v\(configVersion)") }
        return "r" + String(SHA256.hex(parts.joined(separator: "\u{1f}")).prefix(11))
    }

    /// The same cell in another configuration version (its own id).
    public func inVersion(_ version: Int) -> RunSpec {
        var r = self
        r.configVersion = version
        r.id = RunSpec.stableID(sweep: sweep, agent: agent, competition: competition, budget: budget, profile: profile, attempt: attempt,
                                configVersion: version)
        return r
    }

    /// Human-readable label: competition/budget/profile/attempt (and `@vN` for a later configuration version).
    public var label: String { "\(competition)/\(budget)/\(profile)/a\(attempt)" + (configVersion > 1 ? "@v\(configVersion)" : "") }
}

/// Expands a sweep into its runs: competition × budget × profile × attempt, in a deterministic order.
public func expandGrid(sweep: String, agent: String, competitions: [String], budgets: [BudgetDuration],
                       profiles: [String], attempts: Int) -> [RunSpec] {
    var runs = [RunSpec]()
    runs.reserveCapacity(competitions.count * budgets.count * profiles.count * max(attempts, 0))
    for attempt in stride(from: 1, through: attempts, by: 1) {
        for competition in competitions {
            for budget in budgets {
                for profile in profiles {
                    runs.append(RunSpec(sweep: sweep, agent: agent, competition: competition, budget: budget,
                                        profile: profile, attempt: attempt))
                }
            }
        }
    }
    return runs
}
