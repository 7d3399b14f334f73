import PodiumCore
import PodiumStore
import PodiumSystem

/// One line of `podium runs` (like squeue/sacct): where a run is, on which node, for how long, and how it scored.
public struct RunListing: Encodable, Sendable, Equatable {
    public var run_id: String
    /// `competition/budget/profile/aN`, as `podium sweep` prints it.
    public var label: String
    public var competition: String
    public var budget: String
    public var profile: String
    public var attempt: Int
    public var state: String
    public var node: String?
    public var epoch: Int
    /// The current attempt's time on its node: until it ended, or until now while it runs.
    public var elapsed_seconds: Double?
    public var score: Double?
    /// gold, silver, bronze, above median, none; nil until graded.
    public var medal: String?

    /// Every run of the sweep in grid order, with its current attempt and final grade.
    public static func rows(store: StateStore, sweep: String, now: Double = wallClockSeconds()) throws -> [RunListing] {
        var attempts = [AttemptKey: AttemptRecord]()
        for a in try store.attempts(sweep: sweep) { attempts[a.key] = a }
        var finals = [AttemptKey: GradeRecord]()
        for g in try store.grades(sweep: sweep) where g.isFinal { finals[g.key] = g }
        return try store.runs(sweep: sweep).map { r in
            let a = attempts[r.key], g = finals[r.key]
            let elapsed = a?.elapsedSeconds ?? (r.state.hasLiveAttempt ? a?.startedAt.map { max(0, now - $0) } : nil)
            let medal = g.map { $0.gold ? "gold" : $0.silver ? "silver" : $0.bronze ? "bronze" : $0.aboveMedian ? "above median" : "none" }
            return RunListing(run_id: r.id, label: r.spec.label, competition: r.spec.competition, budget: r.spec.budget.description,
                              profile: r.spec.profile, attempt: r.spec.attempt, state: r.state.rawValue, node: r.node ?? a?.node,
                              epoch: r.epoch, elapsed_seconds: elapsed, score: g?.score, medal: medal)
        }
    }

    /// Runs named by full id, unique id prefix, or label (`competition/budget/profile/aN`).
    public static func resolve(_ names: [String], runs: [RunRecord], statePath: String) throws -> [RunRecord] {
        try names.map { name in
            if let exact = runs.first(where: { $0.id == name || $0.spec.label == name || $0.spec.label == canonicalLabel(name) }) { return exact }
            let matches = runs.filter { $0.id.hasPrefix(name) }
            guard !matches.isEmpty else {
                throw ConfigError(path: "RUN", found: "no run '\(name)' in \(statePath)",
                                  expected: "a run id, a unique prefix of one, or a label such as competition/24h/profile/a1 (`podium runs` lists them)")
            }
            guard matches.count == 1 else {
                throw ConfigError(path: "RUN", found: "'\(name)' matches \(matches.count) runs", expected: "a longer prefix of one run id")
            }
            return matches[0]
        }
    }
}

/// A label with its budget in the canonical spelling (`wine/60s/cpu/a1` → `wine/1m/cpu/a1`); other names unchanged.
func canonicalLabel(_ name: String) -> String {
    var parts = name.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    guard parts.count == 4, !BudgetDuration.isBareNumber(parts[1]), let b = BudgetDuration(parsing: parts[1]) else { return name }
    parts[1] = b.description
    return parts.joined(separator: "/")
}
