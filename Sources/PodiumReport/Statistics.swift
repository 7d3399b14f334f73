/// Mean and standard error (ddof = 1) of per-seed percentages, as MLE-bench aggregates seeds — its mean ± SEM — and
/// beside it Wilson's 95% score interval on the pooled competition × seed
/// outcomes (n = the outcomes behind the mean). Wilson's interval never claims certainty from a handful of seeds:
/// 0 golds in 2 seeds of 10 competitions is [0.0, 16.1], not [0.0, 0.0].
public struct MeanSEM: Codable, Sendable, Equatable {
    public var mean: Double
    public var standardError: Double
    public var ciLower: Double
    public var ciUpper: Double
    /// How the interval was made, for whoever reads the numbers.
    public var ciMethod: String = MeanSEM.method

    public static let method = "wilson-score-95 on the pooled competition x seed outcomes"

    enum CodingKeys: String, CodingKey {
        case mean
        case standardError = "standard_error"
        case ciLower = "ci_lower"
        case ciUpper = "ci_upper"
        case ciMethod = "ci_method"
    }

    /// `values`: one percentage per seed; `trials`: how many outcomes (competitions) each one is of (1 each if nil).
    public init(_ values: [Double], trials: [Int]? = nil) {
        let n = Double(values.count)
        mean = values.isEmpty ? 0 : values.reduce(0, +) / n
        if values.count > 1 {
            let m = mean
            let variance = values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / (n - 1)
            standardError = (variance / n).squareRoot()
        } else {
            standardError = 0
        }
        let counts = trials ?? Array(repeating: 1, count: values.count)
        let total = counts.reduce(0, +)
        let successes = zip(values, counts).reduce(0.0) { $0 + $1.0 / 100 * Double($1.1) }
        (ciLower, ciUpper) = Self.wilson(successes: successes, trials: total)
    }

    /// Wilson's 95% score interval, in percent, for `successes` of `trials` (0 trials: no interval, [0, 100]).
    static func wilson(successes: Double, trials: Int, z: Double = 1.96) -> (Double, Double) {
        guard trials > 0 else { return (0, 100) }
        let n = Double(trials), p = min(1, max(0, successes / n))
        let z2n = z * z / n
        let center = (p + z2n / 2) / (1 + z2n)
        let half = z / (1 + z2n) * (p * (1 - p) / n + z2n / (4 * n)).squareRoot()
        // At p = 0 and p = 1 the bound is exactly 0 or 100 (not a rounding error away from it).
        return (p == 0 ? 0 : 100 * max(0, center - half), p == 1 ? 100 : 100 * min(1, center + half))
    }
}

/// Unbiased pass@k from n attempts with c successes: 1 − C(n−c, k) / C(n, k).
public func passAtK(n: Int, c: Int, k: Int) -> Double {
    precondition(k >= 1 && k <= n && c >= 0 && c <= n)
    if n - c < k { return 1 }
    // C(n−c, k)/C(n, k) = ∏_{i=0}^{k−1} (n−c−i)/(n−i), computed as a product to stay exact enough and overflow-free.
    var ratio = 1.0
    for i in 0..<k { ratio *= Double(n - c - i) / Double(n - i) }
    return 1 - ratio
}
