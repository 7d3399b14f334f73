/// A competition's Kaggle leaderboard and the medal thresholds MLE-bench derives from it.
public struct Leaderboard: Sendable, Equatable, Codable {
    public var numTeams: Int
    public var isLowerBetter: Bool
    public var goldThreshold: Double
    public var silverThreshold: Double
    public var bronzeThreshold: Double
    public var medianThreshold: Double

    enum CodingKeys: String, CodingKey {
        case numTeams = "num_teams"
        case isLowerBetter = "is_lower_better"
        case goldThreshold = "gold_threshold"
        case silverThreshold = "silver_threshold"
        case bronzeThreshold = "bronze_threshold"
        case medianThreshold = "median_threshold"
    }

    /// Reads `leaderboard.csv` (column `score`, rows in leaderboard order, best first).
    public static func load(path: String) throws(GradingError) -> Leaderboard {
        let table: CSVTable
        do { table = try CSVTable.read(path: path) } catch { throw .unavailable("leaderboard \(path): \(error)") }
        guard let col = table.columnIndex("score") else {
            throw .unavailable("leaderboard \(path) has no 'score' column (columns: \(table.header.joined(separator: ", ")))")
        }
        let scores = table.rows.compactMap { finiteNumber($0[col]) }
        guard !scores.isEmpty else { throw .unavailable("leaderboard \(path) has no scores") }
        return Leaderboard(scores: scores)
    }

    /// Kaggle's progression rule by team count, as MLE-bench applies it (../shared/mlebench-meta/README.md).
    public init(scores: [Double]) {
        let n = scores.count
        isLowerBetter = scores[0] < scores[n - 1]
        numTeams = n
        let (gold, silver, bronze) = Leaderboard.medalPositions(teams: n)
        goldThreshold = scores[min(gold, n) - 1]
        silverThreshold = scores[min(silver, n) - 1]
        bronzeThreshold = scores[min(bronze, n) - 1]
        let sorted = scores.sorted()
        medianThreshold = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    }

    /// 1-based leaderboard positions of the last gold, silver and bronze medal.
    public static func medalPositions(teams n: Int) -> (gold: Int, silver: Int, bronze: Int) {
        let d = Double(n)
        func atLeast1(_ x: Double) -> Int { max(1, Int(x)) }
        switch n {
        case ..<100: return (atLeast1(0.1 * d), atLeast1(0.2 * d), atLeast1(0.4 * d))
        case 100..<250: return (10, atLeast1(0.2 * d), atLeast1(0.4 * d))
        case 250..<1000: return (10 + Int(0.002 * d), 50, 100)
        default: return (10 + Int(0.002 * d), atLeast1(0.05 * d), atLeast1(0.1 * d))
        }
    }

    public struct Placement: Sendable, Equatable {
        public var gold, silver, bronze, aboveMedian: Bool
        public var anyMedal: Bool { gold || silver || bronze }
    }

    /// Medals for a (rounded) score: at least as good as a threshold earns it, the best medal only; above median is strict.
    public func place(_ score: Double) -> Placement {
        func atLeast(_ t: Double) -> Bool { isLowerBetter ? score <= t : score >= t }
        let gold = atLeast(goldThreshold)
        let silver = !gold && atLeast(silverThreshold)
        let bronze = !gold && !silver && atLeast(bronzeThreshold)
        let above = isLowerBetter ? score < medianThreshold : score > medianThreshold
        return Placement(gold: gold, silver: silver, bronze: bronze, aboveMedian: above)
    }
}

/// Python's round(x, 5) (half to even), as MLE-bench's Grader applies it to every score.
public func roundScore(_ x: Double) -> Double {
    guard x.isFinite else { return x }
    return (x * 100_000).rounded(.toNearestOrEven) / 100_000
}
