import PodiumCore

/// One graded submission of a run at a point of its budget: a snapshot taken while it ran, or the final submission
/// (at the end of the run).
public struct TimedGrade: Sendable, Equatable {
    public var runKey: String
    public var competition: String
    public var budget: BudgetDuration
    public var profile: String
    public var agent: String
    public var elapsedHours: Double
    public var anyMedal: Bool

    public init(runKey: String, competition: String, budget: BudgetDuration, profile: String, agent: String, elapsedHours: Double, anyMedal: Bool) {
        self.runKey = runKey; self.competition = competition; self.budget = budget; self.profile = profile
        self.agent = agent; self.elapsedHours = elapsedHours; self.anyMedal = anyMedal
    }
}

/// Any-medal rate against elapsed time for one (budget, profile, agent) group: at hour t, the share of the group's
/// graded runs whose latest graded submission at or before t medals. A 100 h run's curve at 24 h is what it had by then —
/// not the same as a run *told* it has 24 h, which may plan differently; the report says so.
public struct TimeCurve: Codable, Sendable, Equatable {
    public struct Point: Codable, Sendable, Equatable {
        public var hours: Double
        public var anyMedalPercentage: Double
        enum CodingKeys: String, CodingKey {
            case hours
            case anyMedalPercentage = "any_medal_percentage"
        }
    }

    public var budget: String
    public var budgetHours: Double
    public var profile: String
    public var agent: String
    public var runs: Int
    public var points: [Point]

    enum CodingKeys: String, CodingKey {
        case budget
        case budgetHours = "budget_hours"
        case profile, agent, runs, points
    }

    public static let caveat = "Earlier points of a longer budget are what those runs had by then; an agent told it has 100 h may behave differently from one given 24 h, so they estimate, not replace, a shorter budget's result."

    /// Curves per group, sampled at `steps` even points of each budget plus every shorter budget's end.
    public static func curves(_ grades: [TimedGrade], steps: Int = 20) -> [TimeCurve] {
        let groups = Dictionary(grouping: grades) { "\($0.budget.seconds)\u{1f}\($0.profile)\u{1f}\($0.agent)" }
        let budgetHours = Set(grades.map(\.budget.hours)).sorted()
        var out = [TimeCurve]()
        for (_, gs) in groups {
            let first = gs[0]
            let byRun = Dictionary(grouping: gs, by: \.runKey).mapValues { $0.sorted { $0.elapsedHours < $1.elapsedHours } }
            let end = first.budget.hours
            var times = Set((0...steps).map { end * Double($0) / Double(steps) })
            for h in budgetHours where h < end { times.insert(h) }
            let points = times.sorted().map { t -> Point in
                let medalling = byRun.values.filter { run in run.last(where: { $0.elapsedHours <= t + 1e-9 })?.anyMedal == true }.count
                return Point(hours: t, anyMedalPercentage: 100 * Double(medalling) / Double(max(byRun.count, 1)))
            }
            out.append(TimeCurve(budget: first.budget.description, budgetHours: end, profile: first.profile, agent: first.agent,
                                 runs: byRun.count, points: points))
        }
        return out.sorted { ($0.budgetHours, $0.profile, $0.agent) < ($1.budgetHours, $1.profile, $1.agent) }
    }

    /// The rate at hour t (the last sampled point at or before it).
    public func rate(at t: Double) -> Double? { points.last(where: { $0.hours <= t + 1e-9 })?.anyMedalPercentage }
}
