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
func _sin(_ x: Double) -> Double { Glibc.sin(x) }
func _cos(_ x: Double) -> Double { Glibc.cos(x) }
func _acos(_ x: Double) -> Double { Glibc.acos(x) }
func _asin(_ x: Double) -> Double { Glibc.asin(x) }
func _pow(_ x: Double, _ y: Double) -> Double { Glibc.pow(x, y) }
#else
import Darwin
func _log(_ x: Double) -> Double { Darwin.log(x) }
func _log1p(_ x: Double) -> Double { Darwin.log1p(x) }
func _sin(_ x: Double) -> Double { Darwin.sin(x) }
func _cos(_ x: Double) -> Double { Darwin.cos(x) }
func _acos(_ x: Double) -> Double { Darwin.acos(x) }
func _asin(_ x: Double) -> Double { Darwin.asin(x) }
func _pow(_ x: Double, _ y: Double) -> Double { Darwin.pow(x, y) }
#endif

extension Metrics {
    /// Edit distance with unit costs over any sequence (characters, code points, tokens).
    public static func levenshtein<T: Equatable>(_ a: [T], _ b: [T]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count), cur = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            cur[0] = i
            for j in 1...b.count {
                cur[j] = Swift.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&prev, &cur)
        }
        return prev[b.count]
    }

    /// Pearson's r (scipy.stats.pearsonr); NaN when either side is constant.
    public static func pearson(_ x: [Double], _ y: [Double]) -> Double {
        let n = Double(x.count)
        guard n > 1 else { return .nan }
        let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for (a, b) in zip(x, y) {
            sxy += (a - mx) * (b - my)
            sxx += (a - mx) * (a - mx)
            syy += (b - my) * (b - my)
        }
        guard sxx > 0, syy > 0 else { return .nan }
        return Swift.max(-1, Swift.min(1, sxy / (sxx.squareRoot() * syy.squareRoot())))
    }

    /// Ranks 1…n with ties sharing their average rank (scipy.stats.rankdata "average").
    public static func averageRanks(_ v: [Double]) -> [Double] {
        let order = v.indices.sorted { v[$0] < v[$1] }
        var ranks = [Double](repeating: 0, count: v.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count, v[order[j + 1]] == v[order[i]] { j += 1 }
            for k in i...j { ranks[order[k]] = Double(i + j) / 2 + 1 }
            i = j + 1
        }
        return ranks
    }

    /// Spearman's rho: Pearson's r of the average ranks (NaN for a constant side).
    public static func spearman(_ x: [Double], _ y: [Double]) -> Double {
        if x.contains(where: \.isNaN) || y.contains(where: \.isNaN) { return .nan }
        return pearson(averageRanks(x), averageRanks(y))
    }

    /// Average precision at k: each distinct hit in the first k predictions adds hits-so-far / position.
    public static func averagePrecision(actual: Set<String>, predicted: [String], k: Int) -> Double {
        guard !actual.isEmpty else { return 0 }
        var hits = 0, score = 0.0
        var seen = Set<String>()
        for (i, p) in predicted.prefix(k).enumerated() {
            if actual.contains(p), !seen.contains(p) {
                hits += 1
                score += Double(hits) / Double(i + 1)
            }
            seen.insert(p)
        }
        return score / Double(Swift.min(actual.count, k))
    }

    /// sklearn's `roc_curve` (drop_intermediate=True): false and true positive rates at each distinct threshold.
    public static func rocCurve(labels: [Bool], scores: [Double]) -> (fpr: [Double], tpr: [Double]) {
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var fps = [Double](), tps = [Double]()
        var tp = 0.0, fp = 0.0
        for (k, i) in order.enumerated() {
            if labels[i] { tp += 1 } else { fp += 1 }
            if k + 1 == order.count || scores[order[k + 1]] != scores[i] { tps.append(tp); fps.append(fp) }
        }
        // Drop points collinear with their neighbours (second differences zero in both).
        var keep = [Int]()
        for k in fps.indices {
            if k == 0 || k == fps.count - 1 { keep.append(k); continue }
            if fps[k - 1] - 2 * fps[k] + fps[k + 1] != 0 || tps[k - 1] - 2 * tps[k] + tps[k + 1] != 0 { keep.append(k) }
        }
        let totalP = tps.last ?? 0, totalN = fps.last ?? 0
        var fpr = [0.0], tpr = [0.0]
        for k in keep {
            fpr.append(totalN > 0 ? fps[k] / totalN : .nan)
            tpr.append(totalP > 0 ? tps[k] / totalP : .nan)
        }
        return (fpr, tpr)
    }

    /// Trapezoidal area under (x, y) (sklearn.metrics.auc; x monotone).
    public static func trapezoid(_ x: [Double], _ y: [Double]) -> Double {
        var area = 0.0
        for k in 1..<Swift.max(x.count, 1) { area += (x[k] - x[k - 1]) * (y[k] + y[k - 1]) / 2 }
        return abs(area)
    }
}
