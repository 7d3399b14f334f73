/// Native metrics with scikit-learn 1.5's definitions (the reference MLE-bench's graders use).
public enum Metrics {
    public static func accuracy(_ truth: [String], _ pred: [String]) -> Double {
        precondition(truth.count == pred.count && !truth.isEmpty)
        var hits = 0
        for (t, p) in zip(truth, pred) where labelsEqual(t, p) { hits += 1 }
        return Double(hits) / Double(truth.count)
    }

    /// Labels compare as numbers when both parse ("3" == "3.0"), else as text.
    static func labelsEqual(_ a: String, _ b: String) -> Bool {
        if let x = Double(a), let y = Double(b) { return x == y }
        return a == b
    }

    /// Area under the ROC curve (trapezoidal; tied scores share a threshold). Throws when only one class is present.
    public static func rocAUC(labels: [Bool], scores: [Double]) throws(GradingError) -> Double {
        let pos = labels.filter { $0 }.count
        let neg = labels.count - pos
        guard pos > 0, neg > 0 else {
            throw .invalid("ROC AUC is undefined: only one class is present in the answers")
        }
        // Mann–Whitney U with average ranks for ties equals the trapezoidal ROC area.
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var rankSumPos = 0.0
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count, scores[order[j + 1]] == scores[order[i]] { j += 1 }
            let avgRank = Double(i + j) / 2 + 1
            for k in i...j where labels[order[k]] { rankSumPos += avgRank }
            i = j + 1
        }
        let u = rankSumPos - Double(pos) * Double(pos + 1) / 2
        return u / (Double(pos) * Double(neg))
    }

    /// Multi-class log loss: probabilities clipped to [eps, 1-eps] with eps = 2.22e-16, no row renormalisation.
    public static func logLoss(trueClass: [Int], probabilities: [[Double]]) -> Double {
        let eps = Double.ulpOfOne
        var total = 0.0
        for (c, row) in zip(trueClass, probabilities) {
            let p = min(max(row[c], eps), 1 - eps)
            total -= _log(p)
        }
        return total / Double(trueClass.count)
    }

    /// Binary log loss on P(class 1): sklearn appends 1 − p, then clips both to [eps, 1 − eps].
    public static func binaryLogLoss(_ truth: [Double], _ p: [Double]) -> Double {
        let eps = Double.ulpOfOne
        var total = 0.0
        for (y, q) in zip(truth, p) {
            let p1 = min(max(q, eps), 1 - eps), p0 = min(max(1 - q, eps), 1 - eps)
            total -= y * _log(p1) + (1 - y) * _log(p0)
        }
        return total / Double(max(truth.count, 1))
    }

    /// Cohen's kappa with quadratic weights over the union of labels present (sklearn's cohen_kappa_score).
    public static func quadraticWeightedKappa(_ a: [Double], _ b: [Double]) -> Double {
        let labels = Array(Set(a).union(b)).sorted()
        let index = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
        let k = labels.count
        guard k > 1 else { return 0 }
        var observed = [Double](repeating: 0, count: k * k)
        var ha = [Double](repeating: 0, count: k), hb = [Double](repeating: 0, count: k)
        for (x, y) in zip(a, b) {
            let i = index[x]!, j = index[y]!
            observed[i * k + j] += 1
            ha[i] += 1
            hb[j] += 1
        }
        let n = Double(a.count)
        var num = 0.0, den = 0.0
        for i in 0..<k {
            for j in 0..<k {
                let w = Double((i - j) * (i - j))
                num += w * observed[i * k + j]
                den += w * ha[i] * hb[j] / n
            }
        }
        return den == 0 ? 0 : 1 - num / den
    }

    /// Macro F1 over the union of labels present in either (sklearn, zero_division → 0).
    public static func macroF1(_ truth: [Int], _ pred: [Int]) -> Double {
        var tp = [Int: Int](), fp = [Int: Int](), fn = [Int: Int]()
        for (t, p) in zip(truth, pred) {
            if t == p { tp[t, default: 0] += 1 } else { fp[p, default: 0] += 1; fn[t, default: 0] += 1 }
        }
        let labels = Set(truth).union(pred)
        guard !labels.isEmpty else { return 0 }
        var sum = 0.0
        for l in labels {
            let a = Double(tp[l] ?? 0), b = Double(fp[l] ?? 0), c = Double(fn[l] ?? 0)
            if 2 * a + b + c > 0 { sum += 2 * a / (2 * a + b + c) }
        }
        return sum / Double(labels.count)
    }

    /// Matthews correlation coefficient of binary labels (0 when undefined, as sklearn).
    public static func matthews(_ truth: [Bool], _ pred: [Bool]) -> Double {
        var tp = 0.0, tn = 0.0, fp = 0.0, fn = 0.0
        for (t, p) in zip(truth, pred) {
            switch (t, p) {
            case (true, true): tp += 1
            case (false, false): tn += 1
            case (false, true): fp += 1
            case (true, false): fn += 1
            }
        }
        let den = ((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)).squareRoot()
        return den == 0 ? 0 : (tp * tn - fp * fn) / den
    }

    public static func rmse(_ truth: [Double], _ pred: [Double]) -> Double {
        var s = 0.0
        for (t, p) in zip(truth, pred) { s += (t - p) * (t - p) }
        return (s / Double(truth.count)).squareRoot()
    }

    public static func mae(_ truth: [Double], _ pred: [Double]) -> Double {
        var s = 0.0
        for (t, p) in zip(truth, pred) { s += abs(t - p) }
        return s / Double(truth.count)
    }
}

#if canImport(Glibc)
@preconcurrency import Glibc
func _log(_ x: Double) -> Double { Glibc.log(x) }
func _log1p(_ x: Double) -> Double { Glibc.log1p(x) }
#else
import Darwin
func _log(_ x: Double) -> Double { Darwin.log(x) }
func _log1p(_ x: Double) -> Double { Darwin.log1p(x) }
#endif
