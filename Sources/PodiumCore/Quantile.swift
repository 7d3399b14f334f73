/// numpy's default (linear) quantile of already sorted values; NaN for none.
public func linearQuantile(_ sorted: [Double], _ q: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let pos = q * Double(sorted.count - 1)
    let lo = Int(pos), frac = pos - Double(lo)
    return lo + 1 < sorted.count ? sorted[lo] + (sorted[lo + 1] - sorted[lo]) * frac : sorted[lo]
}
