/// Mean, standard error (ddof = 1) and 95% interval (mean ± 1.96·SEM), as MLE-bench aggregates seeds.
public struct MeanSEM: Codable, Sendable, Equatable {
    public var mean: Double
    public var standardError: Double
    public var ciLower: Double
    public var ciUpper: Double

    enum CodingKeys: String, CodingKey {
        case mean
        case standardError = "standard_error"
        case ciLower = "ci_lower"
        case ciUpper = "ci_upper"
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
        ciLower = mean - 1.96 * standardError
        ciUpper = mean + 1.96 * standardError
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
