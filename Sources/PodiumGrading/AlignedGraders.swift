#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The submission and answers rows a grader scores, paired the way the competition's official grader pairs them.
struct AlignedRows {
    let sub: CSVTable
    let ans: CSVTable
    let pairs: [(sub: Int, ans: Int)]

    func subColumn(_ name: String) -> PandasColumn { PandasColumn(sub, sub.columnIndex(name)!) }
    func ansColumn(_ name: String) throws(GradingError) -> PandasColumn {
        guard let c = ans.columnIndex(name) else { throw .unavailable("answers have no '\(name)' column") }
        return PandasColumn(ans, c)
    }

    /// The submission's numbers of a column, paired with the answers' (NaN or text in the submission is invalid).
    func numbers(_ name: String, answerColumn: String? = nil, allowNaN: Bool = false) throws(GradingError) -> (truth: [Double], pred: [Double]) {
        let s = subColumn(name), a = try ansColumn(answerColumn ?? name)
        var truth = [Double](), pred = [Double]()
        truth.reserveCapacity(pairs.count)
        pred.reserveCapacity(pairs.count)
        for p in pairs {
            guard let v = s.double(p.sub) else { throw .invalid("submission '\(name)' must be numeric; found '\(s.cells[p.sub])'") }
            if v.isNaN && !allowNaN { throw .invalid("submission '\(name)' has a missing value (NaN)") }
            guard let y = a.double(p.ans) else { throw .unavailable("answers '\(answerColumn ?? name)' is not numeric") }
            truth.append(y)
            pred.append(v)
        }
        return (truth, pred)
    }
}

/// A grader over rows paired by an id column, with the column and id checks MLE-bench's grader for it makes.
struct AlignedGrader: Grader {
    enum IDRule {
        /// Same row count and the same ids (sorted both sides, compared element-wise): a permutation.
        case sameRows
        /// The same id *set*; duplicated submission rows pass and an inner merge counts them again.
        case sameSetMerge
        /// Every answers id present (first row wins); extra submission ids are dropped.
        case superset
        /// Only ids present in the answers (every submission id must be one); rows the answers lack are not scored.
        case subset
        /// Same row count; both sorted by id and paired by position, ids never compared.
        case sortedPositional
    }

    let name: String
    let idColumn: String
    /// Columns the submission must have (besides the id).
    let columns: [String]
    /// When set, the submission's column set must be exactly this.
    var exactColumns: Set<String>? = nil
    /// When set, the submission must have exactly this many columns.
    var columnCount: Int? = nil
    var idRule: IDRule = .sameRows
    let metric: @Sendable (AlignedRows) throws(GradingError) -> Double

    var engine: String { "native:mlebench/\(name)" }

    func score(submission: CSVTable, answers: CSVTable) throws(GradingError) -> Double {
        for c in [idColumn] + columns where submission.columnIndex(c) == nil {
            throw .invalid("submission must have a '\(c)' column (it has: \(submission.header.joined(separator: ", ")))")
        }
        if let want = exactColumns, Set(submission.header) != want || submission.header.count != want.count {
            throw .invalid("submission columns must be exactly \(want.sorted().joined(separator: ", ")) (it has: \(submission.header.joined(separator: ", ")))")
        }
        if let n = columnCount, submission.header.count != n {
            throw .invalid("submission has \(submission.header.count) columns, expected \(n)")
        }
        let pairs: [(sub: Int, ans: Int)]
        switch idRule {
        case .sameRows:
            pairs = try sameRowPairs(submission, answers, idColumn: idColumn)
        case .sortedPositional:
            guard submission.rows.count == answers.rows.count else {
                throw .invalid("submission has \(submission.rows.count) rows, the answers \(answers.rows.count)")
            }
            guard let ac = answers.columnIndex(idColumn) else { throw .unavailable("answers have no '\(idColumn)' column") }
            let s = PandasColumn(submission, submission.columnIndex(idColumn)!).sortedOrder()
            let a = PandasColumn(answers, ac).sortedOrder()
            pairs = zip(s, a).map { ($0, $1) }
        case .sameSetMerge, .superset, .subset:
            guard let ac = answers.columnIndex(idColumn) else { throw .unavailable("answers have no '\(idColumn)' column") }
            let sc = submission.columnIndex(idColumn)!
            var index = [String: [Int]]()
            for (k, r) in submission.rows.enumerated() { index[normalizedID(r[sc]), default: []].append(k) }
            var found = [(sub: Int, ans: Int)]()
            var answerIDs = Set<String>()
            for (k, r) in answers.rows.enumerated() {
                let id = normalizedID(r[ac])
                answerIDs.insert(id)
                guard let rows = index[id] else {
                    if idRule == .subset { continue }
                    throw .invalid("submission is missing id '\(r[ac])'")
                }
                if idRule == .sameSetMerge { for s in rows { found.append((s, k)) } } else { found.append((rows[0], k)) }
            }
            if idRule != .superset, let extra = index.keys.filter({ !answerIDs.contains($0) }).sorted().first {
                throw .invalid("submission has id '\(extra)' that is not in the answers")
            }
            pairs = found
        }
        return try metric(AlignedRows(sub: submission, ans: answers, pairs: pairs))
    }
}

/// MLE-bench's most common check: the same number of rows and the same ids (a permutation), paired by id.
func sameRowPairs(_ sub: CSVTable, _ ans: CSVTable, idColumn: String) throws(GradingError) -> [(sub: Int, ans: Int)] {
    guard sub.rows.count == ans.rows.count else {
        throw .invalid("submission has \(sub.rows.count) rows, the answers \(ans.rows.count)")
    }
    return try alignByID(sub, ans, idColumn: idColumn)
}

/// Whitespace-separated tokens (Python's `str.split()`).
func words(_ s: String) -> [Substring] { s.split(whereSeparator: \.isWhitespace) }

/// Single-space-separated tokens (Python's `str.split(" ")`, empty tokens kept).
func spaceTokens(_ s: String) -> [String] { s.split(separator: " ", omittingEmptySubsequences: false).map(String.init) }

extension MLEBenchGraders {
    /// Graders for medium and high competitions built on `AlignedGrader`; each reproduces its parity fixtures.
    static func alignedGraders() -> [String: any Grader] {
        var g = [String: any Grader]()

        g["predict-volcanic-eruptions-ingv-oe"] = AlignedGrader(
            name: "mae-rounded", idColumn: "segment_id", columns: ["time_to_eruption"], idRule: .sameSetMerge
        ) { rows throws(GradingError) in
            let (y, p) = try rows.numbers("time_to_eruption")
            return Metrics.mae(y, p).rounded(.toNearestOrEven)
        }

        g["stanford-covid-vaccine"] = AlignedGrader(
            name: "mcrmse", idColumn: "id_seqpos",
            columns: ["reactivity", "deg_Mg_pH10", "deg_Mg_50C", "deg_pH10", "deg_50C"]
        ) { rows throws(GradingError) in
            // MLE-bench's quirk, reproduced: both frames are sorted by id, but the answers' `keep` mask selects
            // submission rows by their position in the submission FILE (pandas index alignment), and the kept rows
            // are then paired by position. A submission in the answers' row order is scored as intended.
            let keep = try rows.ansColumn("keep")
            let kept = { (r: Int) in keep.cells[r].lowercased() == "true" }
            let sOrder = rows.subColumn("id_seqpos").sortedOrder().filter(kept)
            let aOrder = try rows.ansColumn("id_seqpos").sortedOrder().filter(kept)
            let positional = AlignedRows(sub: rows.sub, ans: rows.ans, pairs: zip(sOrder, aOrder).map { ($0, $1) })
            var total = 0.0
            for c in ["reactivity", "deg_Mg_pH10", "deg_Mg_50C"] {
                let (y, p) = try positional.numbers(c)
                total += Metrics.rmse(y, p)
            }
            return total / 3
        }

        g["ventilator-pressure-prediction"] = AlignedGrader(
            name: "mae-inspiratory", idColumn: "id", columns: ["pressure"]
        ) { rows throws(GradingError) in
            let uOut = try rows.ansColumn("u_out")
            let scored = AlignedRows(sub: rows.sub, ans: rows.ans, pairs: rows.pairs.filter { uOut.double($0.ans) == 0 })
            let (y, p) = try scored.numbers("pressure")
            return Metrics.mae(y, p)
        }

        g["inaturalist-2019-fgvc6"] = AlignedGrader(
            name: "top1-error", idColumn: "id", columns: ["predicted"]
        ) { rows throws(GradingError) in
            let s = rows.subColumn("predicted"), a = try rows.ansColumn("predicted")
            if s.kind == .float { throw .invalid("submission 'predicted' holds non-integer numbers (e.g. '12.0'); write class ids as integers") }
            var hits = 0
            for p in rows.pairs {
                guard !s.isNA(p.sub), let first = words(s.cells[p.sub]).first, let v = Int(first) else {
                    throw .invalid("submission 'predicted' must start with an integer class id; found '\(s.cells[p.sub])'")
                }
                if let y = a.double(p.ans), Double(v) == y { hits += 1 }
            }
            return 1 - Double(hits) / Double(max(rows.pairs.count, 1))
        }

        g["us-patent-phrase-to-phrase-matching"] = AlignedGrader(
            name: "pearson", idColumn: "id", columns: ["score"]
        ) { rows throws(GradingError) in
            let (y, p) = try rows.numbers("score")
            return Metrics.pearson(p, y)
        }

        g["google-quest-challenge"] = googleQuest

        for (id, idCol, target, bothEmptyInvalid) in [
            ("tweet-sentiment-extraction", "textID", "selected_text", true),
            ("chaii-hindi-and-tamil-question-answering", "id", "PredictionString", false),
        ] {
            g[id] = AlignedGrader(name: "word-jaccard", idColumn: idCol, columns: [target]) { rows throws(GradingError) in
                let s = rows.subColumn(target), a = try rows.ansColumn(target)
                var total = 0.0
                for p in rows.pairs {
                    let x = Set(words(s.text(p.sub).lowercased())), y = Set(words(a.text(p.ans).lowercased()))
                    let inter = x.intersection(y).count, union = x.count + y.count - inter
                    if union == 0 {
                        if bothEmptyInvalid { throw .invalid("prediction and answer are both empty for id '\(rows.sub.rows[p.sub][rows.sub.columnIndex(idCol)!])' (division by zero in the official metric)") }
                        continue
                    }
                    total += Double(inter) / Double(union)
                }
                return total / Double(max(rows.pairs.count, 1))
            }
        }

        for (id, idCol, target, k, exact, rule) in [
            ("whale-categorization-playground", "Image", "Id", 5, true, AlignedGrader.IDRule.sameRows),
            ("hotel-id-2021-fgvc8", "image", "hotel_id", 5, false, .sameRows),
            ("h-and-m-personalized-fashion-recommendations", "customer_id", "prediction", 12, true, .superset),
        ] {
            g[id] = AlignedGrader(name: "map@\(k)", idColumn: idCol, columns: [target],
                                  exactColumns: exact ? [idCol, target] : nil, idRule: rule) { rows throws(GradingError) in
                let s = rows.subColumn(target), a = try rows.ansColumn(target)
                var total = 0.0
                for p in rows.pairs {
                    total += Metrics.averagePrecision(actual: Set(spaceTokens(a.str(p.ans))), predicted: spaceTokens(s.str(p.sub)), k: k)
                }
                return total / Double(max(rows.pairs.count, 1))
            }
        }

        g["bms-molecular-translation"] = AlignedGrader(
            name: "mean-levenshtein", idColumn: "image_id", columns: ["InChI"]
        ) { rows throws(GradingError) in
            let s = rows.subColumn("InChI"), a = try rows.ansColumn("InChI")
            var total = 0
            for p in rows.pairs { total += Metrics.levenshtein(Array(s.str(p.sub).unicodeScalars), Array(a.str(p.ans).unicodeScalars)) }
            return Double(total) / Double(max(rows.pairs.count, 1))
        }

        g["billion-word-imputation"] = AlignedGrader(
            name: "mean-levenshtein", idColumn: "id", columns: ["sentence"]
        ) { rows throws(GradingError) in
            let s = rows.subColumn("sentence"), a = try rows.ansColumn("sentence")
            var total = 0
            for p in rows.pairs {
                if s.isNA(p.sub) { throw .invalid("submission 'sentence' is empty for id '\(rows.sub.rows[p.sub][rows.sub.columnIndex("id")!])'") }
                total += Metrics.levenshtein(Array(s.str(p.sub).unicodeScalars), Array(a.str(p.ans).unicodeScalars))
            }
            return Double(total) / Double(max(rows.pairs.count, 1))
        }

        g["multi-modal-gesture-recognition"] = AlignedGrader(
            name: "normalized-levenshtein", idColumn: "Id", columns: ["Sequence"]
        ) { rows throws(GradingError) in
            let s = rows.subColumn("Sequence"), a = try rows.ansColumn("Sequence")
            var edits = 0, truthLength = 0
            for p in rows.pairs {
                var pred = [Int]()
                for t in words(s.str(p.sub)) {
                    guard let v = Int(t) else { throw .invalid("submission sequences must be integers separated by spaces; found '\(t)'") }
                    pred.append(v)
                }
                let truth = words(a.str(p.ans)).compactMap { Int($0) }
                edits += Metrics.levenshtein(truth, pred)
                truthLength += truth.count
            }
            return Double(edits) / Double(max(truthLength, 1))
        }

        for (id, idCol, target) in [("facebook-recruiting-iii-keyword-extraction", "Id", "Tags"),
                                    ("imet-2020-fgvc7", "id", "attribute_ids"),
                                    ("plant-pathology-2021-fgvc8", "image", "labels")] {
            g[id] = AlignedGrader(name: "micro-f1", idColumn: idCol, columns: [target]) { rows throws(GradingError) in
                let s = rows.subColumn(target), a = try rows.ansColumn(target)
                let truths = rows.pairs.map { Set(words(a.text($0.ans)).map(String.init)) }
                let universe = truths.reduce(into: Set<String>()) { $0.formUnion($1) }
                var tp = 0, fp = 0, fn = 0
                for (p, truth) in zip(rows.pairs, truths) {
                    let pred = Set(words(s.text(p.sub)).map(String.init)).intersection(universe)
                    let hit = pred.intersection(truth).count
                    tp += hit
                    fp += pred.count - hit
                    fn += truth.count - hit
                }
                let den = 2 * tp + fp + fn
                return den == 0 ? 0 : Double(2 * tp) / Double(den)
            }
        }

        g["icecube-neutrinos-in-deep-ice"] = AlignedGrader(
            name: "mean-angular-error", idColumn: "event_id", columns: ["azimuth", "zenith"],
            exactColumns: ["event_id", "azimuth", "zenith"]
        ) { rows throws(GradingError) in
            for c in ["azimuth", "zenith"] {
                let col = rows.subColumn(c)
                guard col.isNumeric else { throw .invalid("submission '\(c)' must be a number") }
                for p in rows.pairs where !(col.double(p.sub) ?? .nan).isFinite { throw .invalid("submission '\(c)' must be finite (found '\(col.cells[p.sub])')") }
            }
            let (az, pAz) = try rows.numbers("azimuth"), (ze, pZe) = try rows.numbers("zenith")
            var total = 0.0
            for k in az.indices {
                let d = _sin(ze[k]) * _sin(pZe[k]) * (_cos(az[k]) * _cos(pAz[k]) + _sin(az[k]) * _sin(pAz[k])) + _cos(ze[k]) * _cos(pZe[k])
                total += _acos(max(-1, min(1, d)))
            }
            return total / Double(max(az.count, 1))
        }

        g["osic-pulmonary-fibrosis-progression"] = osic

        g["champs-scalar-coupling"] = AlignedGrader(
            name: "log-mae-by-type", idColumn: "id", columns: ["scalar_coupling_constant"], idRule: .sameSetMerge
        ) { rows throws(GradingError) in
            let type = try rows.ansColumn("type")
            let (y, p) = try rows.numbers("scalar_coupling_constant", allowNaN: true)
            var sums = [String: (Double, Int)]()
            for (k, pair) in rows.pairs.enumerated() {
                let e = sums[type.cells[pair.ans], default: (0, 0)]
                sums[type.cells[pair.ans]] = (e.0 + abs(y[k] - p[k]), e.1 + 1)
            }
            guard !sums.isEmpty else { throw .invalid("no rows to score") }
            return sums.values.map { _log($0.0 / Double($0.1)) }.reduce(0, +) / Double(sums.count)
        }

        let votes = ["seizure_vote", "lpd_vote", "gpd_vote", "lrda_vote", "grda_vote", "other_vote"]
        g["hms-harmful-brain-activity-classification"] = AlignedGrader(
            name: "kl-divergence", idColumn: "eeg_id", columns: votes
        ) { rows throws(GradingError) in
            let s = votes.map { rows.subColumn($0) }
            let a = try votes.map { (v: String) throws(GradingError) in try rows.ansColumn(v) }
            var total = 0.0
            for p in rows.pairs {
                var probs = [Double](), sum = 0.0
                for col in s {
                    guard let v = col.double(p.sub), !v.isNaN else { throw .invalid("submission probabilities must be numbers; found '\(col.cells[p.sub])'") }
                    guard v >= 0 else { throw .invalid("all target values in submission must be at least zero; found \(v)") }
                    guard v <= 1 else { throw .invalid("all target values in submission must be at most one; found \(v)") }
                    probs.append(v)
                    sum += v
                }
                guard abs(sum - 1) <= 1e-8 + 1e-5 else { throw .invalid("submission probabilities must add to 1 for each row; a row sums to \(sum)") }
                let counts = a.map { $0.double(p.ans) ?? 0 }
                let n = counts.reduce(0, +)
                for (c, q) in zip(counts, probs) where c != 0 {
                    let y = c / n
                    total += y * _log(y / min(max(q, 1e-15), 1 - 1e-15))
                }
            }
            return total / Double(max(rows.pairs.count, 1))
        }

        g["rsna-breast-cancer-detection"] = AlignedGrader(
            name: "probabilistic-f1", idColumn: "prediction_id", columns: ["cancer"]
        ) { rows throws(GradingError) in
            let (y, p) = try rows.numbers("cancer")
            var ctp = 0.0, cfp = 0.0, positives = 0.0
            for (t, q) in zip(y, p) {
                let c = min(max(q, 0), 1)
                if t == 1 { ctp += c; positives += 1 } else { cfp += c }
            }
            let precision = ctp / (ctp + cfp), recall = ctp / positives
            guard precision > 0, recall > 0 else { return 0 }
            return 2 * precision * recall / (precision + recall)
        }

        g["alaska2-image-steganalysis"] = AlignedGrader(
            name: "weighted-auroc", idColumn: "Id", columns: ["Label"]
        ) { rows throws(GradingError) in
            let (y, p) = try rows.numbers("Label")
            return Metrics.alaskaWeightedAUC(labels: y.map { $0 == 1 }, scores: p)
        }
        return g
    }

    /// Mean column-wise Spearman over the answers' 30 targets; both sides sorted by qa_id and paired by position.
    static var googleQuest: AlignedGrader {
        let targets = ["question_asker_intent_understanding", "question_body_critical", "question_conversational",
                       "question_expect_short_answer", "question_fact_seeking", "question_has_commonly_accepted_answer",
                       "question_interestingness_others", "question_interestingness_self", "question_multi_intent",
                       "question_not_really_a_question", "question_opinion_seeking", "question_type_choice",
                       "question_type_compare", "question_type_consequence", "question_type_definition",
                       "question_type_entity", "question_type_instructions", "question_type_procedure",
                       "question_type_reason_explanation", "question_type_spelling", "question_well_written",
                       "answer_helpful", "answer_level_of_information", "answer_plausible", "answer_relevance",
                       "answer_satisfaction", "answer_type_instructions", "answer_type_procedure",
                       "answer_type_reason_explanation", "answer_well_written"]
        return AlignedGrader(name: "mean-column-spearman", idColumn: "qa_id", columns: targets, columnCount: 31,
                             idRule: .sortedPositional) { rows throws(GradingError) in
            var total = 0.0
            for c in targets {
                let (y, p) = try rows.numbers(c, allowNaN: true)
                total += Metrics.spearman(p, y)
            }
            return total / Double(targets.count)
        }
    }

    /// OSIC: Laplace log-likelihood over each patient's last three measured weeks that the submission covers.
    static var osic: AlignedGrader {
        AlignedGrader(name: "laplace-log-likelihood", idColumn: "Patient_Week", columns: ["FVC", "Confidence"],
                      idRule: .subset) { rows throws(GradingError) in
            let fvc = rows.subColumn("FVC"), conf = rows.subColumn("Confidence")
            guard fvc.isNumeric else { throw .invalid("submission 'FVC' must be numeric") }
            guard conf.isNumeric else { throw .invalid("submission 'Confidence' must be numeric") }
            let aFVC = try rows.ansColumn("FVC"), patient = try rows.ansColumn("Patient"), pw = try rows.ansColumn("Patient_Week")
            // The three latest weeks with a measured FVC, per patient.
            var byPatient = [String: [(week: Int, row: Int)]]()
            for r in rows.ans.rows.indices where !aFVC.isNA(r) {
                let id = pw.cells[r]
                let week = id.split(separator: "_").last.flatMap { Int($0) } ?? Int.min
                byPatient[patient.cells[r], default: []].append((week, r))
            }
            var graded = Set<Int>()
            for (_, weeks) in byPatient { for w in weeks.sorted(by: { $0.week > $1.week }).prefix(3) { graded.insert(w.row) } }
            var total = 0.0, n = 0
            for p in rows.pairs where graded.contains(p.ans) {
                let y = aFVC.double(p.ans) ?? .nan, f = fvc.double(p.sub) ?? .nan
                var c = conf.double(p.sub) ?? 0
                if c.isNaN { c = 0 }
                let sigma = max(c, 70), delta = min(abs(y - f), 1000)
                total += -(2.0).squareRoot() * delta / sigma - _log((2.0).squareRoot() * sigma)
                n += 1
            }
            return n == 0 ? .nan : total / Double(n)
        }
    }
}

extension Metrics {
    /// ALASKA2's weighted AUC: TPR bands [0, 0.4] weighted 2 and [0.4, 1] weighted 1, normalised to 1.
    public static func alaskaWeightedAUC(labels: [Bool], scores: [Double]) -> Double {
        var (fpr, tpr) = rocCurve(labels: labels, scores: scores)
        let thresholds = [0.0, 0.4, 1.0], weights = [2.0, 1.0]
        for t in thresholds where !tpr.contains(t) {
            guard let i = tpr.firstIndex(where: { $0 > t }), i > 0 else { continue }
            let x = fpr[i - 1] + (fpr[i] - fpr[i - 1]) * (t - tpr[i - 1]) / (tpr[i] - tpr[i - 1])
            fpr.insert(x, at: i)
            tpr.insert(t, at: i)
        }
        var total = 0.0, norm = 0.0
        for (k, w) in weights.enumerated() {
            let lo = thresholds[k], hi = thresholds[k + 1]
            var xs = [Double](), ys = [Double]()
            for (x, y) in zip(fpr, tpr) where y >= lo && y <= hi { xs.append(x); ys.append(y - lo) }
            xs.append(1)
            ys.append(hi - lo)
            total += w * trapezoid(xs, ys)
            norm += w * (hi - lo)
        }
        return total / norm
    }
}
