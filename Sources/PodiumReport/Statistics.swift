/// Mean and standard error (ddof = 1) of per-seed percentages, as MLE-bench aggregates seeds, and a 95% interval that
/// stays in [0, 100]: mean ± 1.96·SEM printed "81.3% ± 12.0 [57.8, 104.7]", a rate above 100%. The interval is
/// Wilson's score interval for a proportion with the sample size the seeds' own spread implies
/// (n = p(1 − p) / SEM²): close to mean ± 1.96·SEM away from the ends, and bent inside [0, 100] near them.
public struct MeanSEM: Codable, Sendable, Equatable {
    public var mean: Double
    public var standardError: Double
    public var ciLower: Double
    public var ciUpper: Double
    /// How the interval was made, for whoever reads the numbers.
    public var ciMethod: String = MeanSEM.method

    public static let method = "wilson-score-95 (effective n = p(1-p)/SEM^2 from the seeds)"

    enum CodingKeys: String, CodingKey {
        case mean
        case standardError = "standard_error"
        case ciLower = "ci_lower"
        case ciUpper = "ci_upper"
        case ciMethod = "ci_method"
    }

    public init(_ values: [Double]) {
        let n = Double(values.count)
        mean = values.isEmpty ? 0 : values.reduce(0, +) / n
        if values.count > 1 {
            let m = mean
            let variance = values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / (n - 1)
            standardError = (variance / n).squareRoot()
        } else {
            standardError = 0
        }
        (ciLower, ciUpper) = Self.wilson(percent: mean, standardError: standardError)
    }

    /// Wilson's 95% score interval, in percent, for a proportion whose standard error is `standardError` (percent).
    static func wilson(percent: Double, standardError: Double, z: Double = 1.96) -> (Double, Double) {
        let p = min(1, max(0, percent / 100)), se = standardError / 100
        guard se > 0, p > 0, p < 1 else { return (100 * p, 100 * p) }  // the seeds agree: nothing to spread
        let n = p * (1 - p) / (se * se)
        let z2n = z * z / n
        let center = (p + z2n / 2) / (1 + z2n)
        let half = z / (1 + z2n) * (p * (1 - p) / n + z2n / (4 * n)).squareRoot()
        return (100 * max(0, center - half), 100 * min(1, center + half))
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
