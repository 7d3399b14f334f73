import PodiumCore

/// A grid axis along which two groups of runs can be compared, all else equal.
public enum ComparisonAxis: String, Sendable, CaseIterable, Codable {
    case budget, profile, agent

    func value(_ r: RunResult) -> String {
        switch self {
        case .budget: return r.budget.description
        case .profile: return r.profile
        case .agent: return r.agent
        }
    }
}

/// B minus A along one axis, paired per competition: each competition's any-medal rate (over its graded attempts)
/// under B minus under A, averaged over the competitions both have results for, with a percentile bootstrap CI
/// (competitions resampled with replacement; seeded, so the same results give the same interval).
public struct PairedComparison: Codable, Sendable, Equatable {
    public var axis: ComparisonAxis
    public var a: String
    public var b: String
    /// The other axes' values this pair holds fixed (e.g. "profile=cpu, agent=baseline").
    public var fixed: String
    public var numCompetitions: Int
    /// Mean over competitions of (rate under B − rate under A), in percentage points.
    public var meanDifference: Double
    public var ciLower: Double
    public var ciUpper: Double
    public var bootstrapSamples: Int
    /// Competitions where B medals more often / less often / equally.
    public var bBetter: Int
    public var aBetter: Int
    public var ties: Int

    enum CodingKeys: String, CodingKey {
        case axis, a, b, fixed
        case numCompetitions = "num_competitions"
        case meanDifference = "mean_difference_pp"
        case ciLower = "ci95_lower_pp"
        case ciUpper = "ci95_upper_pp"
        case bootstrapSamples = "bootstrap_samples"
        case bBetter = "b_better"
        case aBetter = "a_better"
        case ties
    }

    /// Every pair of values along `axis` (in order), within each combination of the other axes. Only graded runs count.
    public static func all(_ results: [RunResult], axis: ComparisonAxis, samples: Int = 2000, seed: UInt64 = 0x5eed) -> [PairedComparison] {
        let others = ComparisonAxis.allCases.filter { $0 != axis }
        let graded = results.filter(\.graded)
        let contexts = Dictionary(grouping: graded) { r in others.map { "\($0.rawValue)=\($0.value(r))" }.joined(separator: ", ") }
        var out = [PairedComparison]()
        for (context, rs) in contexts.sorted(by: { $0.key < $1.key }) {
            let values = orderedValues(rs, axis: axis)
            guard values.count >= 2 else { continue }
            for i in 0..<values.count {
                for j in (i + 1)..<values.count {
                    if let c = compare(rs, axis: axis, a: values[i], b: values[j], fixed: context, samples: samples, seed: seed) { out.append(c) }
                }
            }
        }
        return out
    }

    static func orderedValues(_ rs: [RunResult], axis: ComparisonAxis) -> [String] {
        if axis == .budget {
            return Array(Set(rs.map(\.budget))).sorted().map(\.description)
        }
        return Array(Set(rs.map { axis.value($0) })).sorted()
    }

    static func compare(_ rs: [RunResult], axis: ComparisonAxis, a: String, b: String, fixed: String, samples: Int, seed: UInt64) -> PairedComparison? {
        func rates(_ v: String) -> [String: Double] {
            Dictionary(grouping: rs.filter { axis.value($0) == v }, by: \.competition)
                .mapValues { 100 * Double($0.filter(\.anyMedal).count) / Double($0.count) }
        }
        let ra = rates(a), rb = rates(b)
        let common = Set(ra.keys).intersection(rb.keys).sorted()
        guard !common.isEmpty else { return nil }
        let diffs = common.map { rb[$0]! - ra[$0]! }
        let mean = diffs.reduce(0, +) / Double(diffs.count)
        var rng = SeededRandom(seed: seed)  // reproducible bootstrap intervals
        var means = [Double]()
        means.reserveCapacity(samples)
        for _ in 0..<samples {
            var s = 0.0
            for _ in diffs.indices { s += diffs[Int(rng.next() % UInt64(diffs.count))] }
            means.append(s / Double(diffs.count))
        }
        means.sort()
        return PairedComparison(axis: axis, a: a, b: b, fixed: fixed, numCompetitions: common.count, meanDifference: mean,
                                ciLower: linearQuantile(means, 0.025), ciUpper: linearQuantile(means, 0.975), bootstrapSamples: samples,
                                bBetter: diffs.filter { $0 > 0 }.count, aBetter: diffs.filter { $0 < 0 }.count,
                                ties: diffs.filter { $0 == 0 }.count)
    }
}

extension PairedComparison {
    /// Every paired comparison of the results on every axis, within each configuration version unless `poolVersions`
    /// (a budget comparison across an agent change would measure the change, not the budget).
    public static func everyAxis(_ results: [RunResult], samples: Int = 2000, poolVersions: Bool = false) -> [PairedComparison] {
        let versions = Set(results.map(\.configVersion)).sorted()
        guard versions.count > 1 && !poolVersions else {
            return ComparisonAxis.allCases.flatMap { all(results, axis: $0, samples: samples) }
        }
        return versions.flatMap { v in
            ComparisonAxis.allCases.flatMap { all(results.filter { $0.configVersion == v }, axis: $0, samples: samples) }
                .map { c in var c = c; c.fixed += (c.fixed.isEmpty ? "" : ", ") + "config v\(v)"; return c }
        }
    }
}
