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
#else
import Darwin
func _log(_ x: Double) -> Double { Darwin.log(x) }
#endif
