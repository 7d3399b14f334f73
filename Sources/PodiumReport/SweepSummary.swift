import PodiumCore

/// The final result of one run (its last attempt's graded final submission), or why there is none.
public struct RunResult: Sendable, Equatable {
    public var competition: String
    public var budget: BudgetDuration
    public var profile: String
    public var attempt: Int
    /// False while the run has no final grade (pending, running, failed).
    public var graded: Bool
    public var infraFailed: Bool
    public var submissionExists: Bool
    public var validSubmission: Bool
    public var aboveMedian: Bool
    public var gold: Bool
    public var silver: Bool
    public var bronze: Bool
    public var score: Double?
    public var agent: String
    /// Attempts (epochs) the run has had: more than 1 means infra retries or a lost node's requeue.
    public var attemptsRecorded: Int
    /// The sweep configuration version the run belongs to (a changed agent or hardware accepted on resume makes a new
    /// one): results of different versions are not pooled unless asked.
    public var configVersion: Int = 1

    public init(competition: String, budget: BudgetDuration, profile: String, attempt: Int, graded: Bool,
                infraFailed: Bool = false, submissionExists: Bool = false, validSubmission: Bool = false,
                aboveMedian: Bool = false, gold: Bool = false, silver: Bool = false, bronze: Bool = false, score: Double? = nil,
                agent: String = "", attemptsRecorded: Int = 1) {
        self.agent = agent; self.attemptsRecorded = attemptsRecorded
        self.competition = competition; self.budget = budget; self.profile = profile; self.attempt = attempt
        self.graded = graded; self.infraFailed = infraFailed; self.submissionExists = submissionExists
        self.validSubmission = validSubmission; self.aboveMedian = aboveMedian
        self.gold = gold; self.silver = silver; self.bronze = bronze; self.score = score
    }

    public var anyMedal: Bool { gold || silver || bronze }
}

/// Aggregates for one (budget, profile) group: seed statistics over complete seeds and pass@k over competitions.
public struct GroupSummary: Codable, Sendable, Equatable {
    public var budget: String
    public var budgetHours: Double
    public var profile: String
    public var numCompetitions: Int
    public var numSeeds: Int
    public var runsTotal: Int
    public var runsGraded: Int
    public var runsInfraFailed: Int
    public var anyMedalPercentage: MeanSEM
    public var goldMedalPercentage: MeanSEM
    public var silverMedalPercentage: MeanSEM
    public var bronzeMedalPercentage: MeanSEM
    public var aboveMedianPercentage: MeanSEM
    public var validSubmissionsPercentage: MeanSEM
    public var submissionExistsPercentage: MeanSEM
    /// k → percentage, averaged over competitions with at least k graded attempts.
    public var passAtK: [String: Double]
    /// The configuration version of the group's runs, where the sweep has several and they are reported apart.
    public var configVersion: Int?

    enum CodingKeys: String, CodingKey {
        case configVersion = "config_version"
        case budget
        case budgetHours = "budget_hours"
        case profile
        case numCompetitions = "num_competitions"
        case numSeeds = "num_seeds"
        case runsTotal = "runs_total"
        case runsGraded = "runs_graded"
        case runsInfraFailed = "runs_infra_failed"
        case anyMedalPercentage = "any_medal_percentage"
        case goldMedalPercentage = "gold_medal_percentage"
        case silverMedalPercentage = "silver_medal_percentage"
        case bronzeMedalPercentage = "bronze_medal_percentage"
        case aboveMedianPercentage = "above_median_percentage"
        case validSubmissionsPercentage = "valid_submissions_percentage"
        case submissionExistsPercentage = "submission_exists_percentage"
        case passAtK = "pass_at_k"
    }

    public init(budget: BudgetDuration, profile: String, results: [RunResult], padMissing: Bool = false) {
        self.budget = budget.description
        budgetHours = budget.hours
        self.profile = profile
        let competitions = Set(results.map(\.competition))
        numCompetitions = competitions.count
        runsTotal = results.count
        runsGraded = results.filter(\.graded).count
        runsInfraFailed = results.filter(\.infraFailed).count

        // Seed i = attempt i. A seed counts when every competition has its graded result (or, padded, as a failure).
        let seeds = Dictionary(grouping: results, by: \.attempt)
        var perSeed: [[RunResult]] = []
        for attempt in seeds.keys.sorted() {
            let rs = seeds[attempt]!
            let complete = rs.allSatisfy(\.graded) && Set(rs.map(\.competition)) == competitions
            if complete { perSeed.append(rs) } else if padMissing {
                perSeed.append(rs.map { r in r.graded ? r : RunResult(competition: r.competition, budget: r.budget, profile: r.profile, attempt: r.attempt, graded: true) })
            }
        }
        numSeeds = perSeed.count
        func pct(_ f: (RunResult) -> Bool) -> MeanSEM {
            MeanSEM(perSeed.map { rs in 100 * Double(rs.filter(f).count) / Double(max(rs.count, 1)) }, trials: perSeed.map(\.count))
        }
        anyMedalPercentage = pct(\.anyMedal)
        goldMedalPercentage = pct(\.gold)
        silverMedalPercentage = pct(\.silver)
        bronzeMedalPercentage = pct(\.bronze)
        aboveMedianPercentage = pct(\.aboveMedian)
        validSubmissionsPercentage = pct(\.validSubmission)
        submissionExistsPercentage = pct(\.submissionExists)

        // Padded, a missing result is a failed attempt for pass@k too.
        let effective = padMissing
            ? results.map { r in r.graded ? r : RunResult(competition: r.competition, budget: r.budget, profile: r.profile, attempt: r.attempt, graded: true) }
            : results
        let byCompetition = Dictionary(grouping: effective.filter(\.graded), by: \.competition)
        let maxN = byCompetition.values.map(\.count).max() ?? 0
        var pk = [String: Double]()
        if maxN > 0 {
            for k in 1...maxN {
                let values = byCompetition.values.filter { $0.count >= k }.map {
                    PodiumReport.passAtK(n: $0.count, c: $0.filter(\.anyMedal).count, k: k)
                }
                if !values.isEmpty { pk[String(k)] = 100 * values.reduce(0, +) / Double(values.count) }
            }
        }
        passAtK = pk
    }
}

/// Groups run results by (budget, profile), in budget order; by configuration version too where the results hold
/// several, unless `poolVersions` (a figure over two agents or images would be neither's).
public func summarize(_ results: [RunResult], padMissing: Bool = false, poolVersions: Bool = false) -> [GroupSummary] {
    let apart = !poolVersions && Set(results.map(\.configVersion)).count > 1
    let groups = Dictionary(grouping: results) { "\(apart ? $0.configVersion : 0)\u{1f}\($0.budget.seconds)\u{1f}\($0.profile)" }
    return groups.values
        .map { rs in
            var g = GroupSummary(budget: rs[0].budget, profile: rs[0].profile, results: rs, padMissing: padMissing)
            g.configVersion = apart ? rs[0].configVersion : nil
            return g
        }
        .sorted { ($0.configVersion ?? 0, $0.budgetHours, $0.profile) < ($1.configVersion ?? 0, $1.budgetHours, $1.profile) }
}
