/// Native graders for MLE-bench competitions, each a small spec over a few shared grading shapes. A competition is
/// listed here only when it reproduces every fixture of ../shared/parity for it (ParityTests checks that).
public enum MLEBenchGraders {
    /// The Lite competitions graded by MLE-bench's shared ROC AUC grader: (competition, id column, target column).
    static let aucROCLite: [(competition: String, id: String, target: String)] = [
        ("aerial-cactus-identification", "id", "has_cactus"),
        ("detecting-insults-in-social-commentary", "Comment", "Insult"),
        ("histopathologic-cancer-detection", "id", "label"),
        ("mlsp-2013-birds", "Id", "Probability"),
        ("random-acts-of-pizza", "request_id", "requester_received_pizza"),
        ("siim-isic-melanoma-classification", "image_name", "target"),
        ("tabular-playground-series-may-2022", "id", "target"),
        ("the-icml-2013-whale-challenge-right-whale-redux", "clip", "probability"),
    ]

    public static let verified: [String: any Grader] = {
        var g = [String: any Grader]()
        for (id, idCol, target) in aucROCLite { g[id] = ColumnGrader(name: "auc-roc", idColumn: idCol, target: target, kind: .auc) }
        g["denoising-dirty-documents"] = ColumnGrader(name: "rmse", idColumn: "id", target: "value", kind: .rmse)
        g["tabular-playground-series-dec-2021"] = ColumnGrader(name: "accuracy", idColumn: "Id", target: "Cover_Type", kind: .accuracy)
        g["dogs-vs-cats-redux-kernels-edition"] = ColumnGrader(name: "log-loss", idColumn: "id", target: "label", kind: .binaryLogLoss)
        g["aptos2019-blindness-detection"] = ColumnGrader(name: "quadratic-weighted-kappa", idColumn: "id_code", target: "diagnosis", kind: .quadraticKappa)
        g["dog-breed-identification"] = ProbabilityTableGrader(name: "multi-class-log-loss", idColumn: "id", exactColumns: false)
        g["leaf-classification"] = ProbabilityTableGrader(name: "multi-class-log-loss", idColumn: "id", exactColumns: true)
        g["plant-pathology-2020-fgvc7"] = MeanColumnAUCGrader(idColumn: "image_id", columns: ["healthy", "multiple_diseases", "rust", "scab"],
                                                              exactColumns: true, rangeCheck: false)
        // Only 9 of the 11 label columns are scored; the other two may be absent or hold anything.
        g["ranzcr-clip-catheter-line-classification"] = MeanColumnAUCGrader(
            idColumn: "StudyInstanceUID",
            columns: ["ETT - Abnormal", "ETT - Borderline", "ETT - Normal", "NGT - Abnormal", "NGT - Borderline",
                      "NGT - Incompletely Imaged", "NGT - Normal", "CVC - Abnormal", "CVC - Borderline"],
            exactColumns: false, rangeCheck: true)
        g["spooky-author-identification"] = ProbabilityTableGrader(name: "multi-class-log-loss", idColumn: "id", exactColumns: false,
                                                                   columnCount: 4)
        for lang in ["english", "russian"] {
            g["text-normalization-challenge-\(lang)-language"] = ColumnGrader(name: "exact-match-accuracy", idColumn: "id", target: "after", kind: .exactText)
        }
        g["nomad2018-predict-transparent-conductors"] = PositionalGrader(
            name: "mean-column-wise-rmsle", sortKey: nil, columns: ["formation_energy_ev_natom", "bandgap_energy_ev"], metric: .rmsle)
        g["new-york-city-taxi-fare-prediction"] = PositionalGrader(name: "rmse", sortKey: "key", columns: ["fare_amount"], metric: .rmse)
        // Medium and high competitions that share these shapes.
        for (id, idCol, target) in [("seti-breakthrough-listen", "id", "target"),
                                    ("rsna-miccai-brain-tumor-radiogenomic-classification", "BraTS21ID", "MGMT_value")] {
            g[id] = ColumnGrader(name: "auc-roc", idColumn: idCol, target: target, kind: .auc)
        }
        for (id, idCol, target) in [("cassava-leaf-disease-classification", "image_id", "label"),
                                    ("cdiscount-image-classification-challenge", "_id", "category_id"),
                                    ("iwildcam-2020-fgvc7", "Id", "Category"),
                                    ("tensorflow-speech-recognition-challenge", "fname", "label")] {
            g[id] = ColumnGrader(name: "accuracy", idColumn: idCol, target: target, kind: .accuracy)
        }
        for id in ["herbarium-2020-fgvc7", "herbarium-2021-fgvc8", "herbarium-2022-fgvc9"] {
            g[id] = ColumnGrader(name: "macro-f1", idColumn: "Id", target: "Predicted", kind: .macroF1)
        }
        g["iwildcam-2019-fgvc6"] = ColumnGrader(name: "macro-f1", idColumn: "Id", target: "Category", kind: .macroF1)
        g["statoil-iceberg-classifier-challenge"] = ColumnGrader(name: "log-loss", idColumn: "id", target: "is_iceberg", kind: .binaryLogLoss)
        g["learning-agency-lab-automated-essay-scoring-2"] = ColumnGrader(name: "quadratic-weighted-kappa", idColumn: "essay_id", target: "score", kind: .quadraticKappa)
        g["petfinder-pawpularity-score"] = ColumnGrader(name: "rmse", idColumn: "Id", target: "Pawpularity", kind: .rmse, valueRange: 1...100)
        g["nfl-player-contact-detection"] = ColumnGrader(name: "matthews-correlation", idColumn: "contact_id", target: "contact", kind: .mcc)
        g["lmsys-chatbot-arena"] = ProbabilityTableGrader(name: "multi-class-log-loss", idColumn: "id", exactColumns: false,
                                                          classes: ["winner_model_a", "winner_model_b", "winner_tie"])
        g["jigsaw-toxic-comment-classification-challenge"] = ColumnOrderAUCGrader(
            idColumn: "id", classes: ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"])
        for more in [alignedGraders(), maskGraders(), structuredGraders()] { g.merge(more) { old, _ in old } }
        return g
    }()
}

/// Pairs submission rows with answer rows through an id column; every id exactly once on both sides.
/// The error names the duplicated, missing or unexpected id.
func alignByID(_ sub: CSVTable, _ ans: CSVTable, idColumn: String) throws(GradingError) -> [(sub: Int, ans: Int)] {
    guard let sID = sub.columnIndex(idColumn) else { throw .invalid("submission has no '\(idColumn)' column") }
    guard let aID = ans.columnIndex(idColumn) else { throw .unavailable("answers have no '\(idColumn)' column") }
    var index = [String: Int]()
    index.reserveCapacity(sub.rows.count)
    for (k, r) in sub.rows.enumerated() {
        guard index.updateValue(k, forKey: normalizedID(r[sID])) == nil else { throw .invalid("submission id '\(r[sID])' appears more than once") }
    }
    var pairs = [(sub: Int, ans: Int)]()
    pairs.reserveCapacity(ans.rows.count)
    for (k, r) in ans.rows.enumerated() {
        guard let s = index.removeValue(forKey: normalizedID(r[aID])) else {
            throw .invalid("submission is missing id '\(r[aID])' (\(sub.rows.count) rows, the answers \(ans.rows.count))")
        }
        pairs.append((s, k))
    }
    if let extra = index.keys.sorted().first {
        throw .invalid("submission has id '\(extra)' that is not in the test set (\(index.count) unexpected ids)")
    }
    return pairs
}

/// Integer-valued ids compare as integers ("7" == "7.0", as pandas parses them), others as trimmed text.
func normalizedID(_ s: String) -> String {
    // Fast paths: text ids, and integers already in canonical form, are their own key.
    let u = s.utf8
    if let f = u.first, f != 0x20, f != 0x09, u.last != 0x20, u.last != 0x09 {
        if !(f >= 0x30 && f <= 0x39) && f != 0x2D && f != 0x2B && f != 0x2E { return s }
        if f != 0x30 || u.count == 1, u.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) { return s }
    }
    let t = trimmedCell(s)
    if let v = Double(t), v == v.rounded(), abs(v) < 1e15, t.first?.isNumber == true || t.first == "-" { return String(Int(v)) }
    return t
}

func column(_ t: CSVTable, _ name: String, side: String) throws(GradingError) -> Int {
    guard let c = t.columnIndex(name) else {
        if side == "answers" { throw .unavailable("answers have no '\(name)' column") }
        throw .invalid("submission must have a '\(name)' column")
    }
    return c
}

func number(_ cell: String, _ what: @autoclosure () -> String) throws(GradingError) -> Double {
    let t = trimmedCell(cell)
    if let v = Double(t), v.isFinite { return v }
    if naTokens.contains(t) { throw .invalid("\(what()) is missing (NaN)") }
    guard let v = Double(t) else { throw .invalid("\(what()) is '\(cell)', not a number") }
    guard v.isFinite else { throw .invalid("\(what()) is not finite") }
    return v
}

/// One id column and one target column; extra columns on either side are ignored.
struct ColumnGrader: Grader {
    enum Kind { case auc, rmse, accuracy, binaryLogLoss, quadraticKappa, exactText, macroF1, mcc }
    let name: String
    let idColumn: String
    let target: String
    let kind: Kind
    /// Predictions outside make the submission invalid (probabilities: [0, 1] by default).
    var valueRange: ClosedRange<Double>? = nil
    var range: ClosedRange<Double>? { valueRange ?? (kind == .auc || kind == .binaryLogLoss ? 0...1 : nil) }
    var engine: String { "native:mlebench/\(name)" }

    func score(submission: CSVTable, answers: CSVTable) throws(GradingError) -> Double {
        let st = try column(submission, target, side: "submission")
        let at = try column(answers, target, side: "answers")
        let pairs = try alignByID(submission, answers, idColumn: idColumn)
        switch kind {
        case .exactText:
            // pandas reads NA-like cells as NaN and astype(str) makes them "nan" on both sides.
            func text(_ c: String) -> String { naTokens.contains(c) ? "nan" : c }
            var hits = 0
            for p in pairs where text(answers.rows[p.ans][at]) == text(submission.rows[p.sub][st]) { hits += 1 }
            return Double(hits) / Double(max(pairs.count, 1))
        case .accuracy:
            var hits = 0
            for p in pairs where Metrics.labelsEqual(answers.rows[p.ans][at], submission.rows[p.sub][st]) { hits += 1 }
            return Double(hits) / Double(max(pairs.count, 1))
        case .macroF1:
            // Labels cast with int() (truncating; NaN invalid), F1 averaged over the union of labels present.
            var truth = [Int](), pred = [Int]()
            for p in pairs {
                truth.append(Int(try number(answers.rows[p.ans][at], "answer")))
                pred.append(Int(try number(submission.rows[p.sub][st], "submission '\(target)'")))
            }
            return Metrics.macroF1(truth, pred)
        case .mcc:
            var truth = [Bool](), pred = [Bool]()
            for p in pairs {
                let y = try number(answers.rows[p.ans][at], "answer"), v = try number(submission.rows[p.sub][st], "submission '\(target)'")
                guard v == 0 || v == 1 else { throw .invalid("submission '\(target)' must be 0 or 1; found \(v)") }
                truth.append(y == 1)
                pred.append(v == 1)
            }
            return Metrics.matthews(truth, pred)
        case .quadraticKappa:
            var truth = [Double](), pred = [Double]()
            for p in pairs {
                truth.append(try number(answers.rows[p.ans][at], "answer"))
                let v = try number(submission.rows[p.sub][st], "submission '\(target)' for id '\(submission.rows[p.sub][submission.columnIndex(idColumn)!])'")
                // sklearn refuses continuous values here ("a mix of continuous and multiclass targets").
                guard v == v.rounded() else { throw .invalid("submission '\(target)' holds \(v); kappa needs class labels (integers)") }
                pred.append(v)
            }
            return Metrics.quadraticWeightedKappa(truth, pred)
        case .auc, .rmse, .binaryLogLoss:
            var truth = [Double](), pred = [Double]()
            truth.reserveCapacity(pairs.count)
            pred.reserveCapacity(pairs.count)
            for p in pairs {
                truth.append(try number(answers.rows[p.ans][at], "answer"))
                let v = try number(submission.rows[p.sub][st], "submission '\(target)' for id '\(submission.rows[p.sub][submission.columnIndex(idColumn)!])'")
                if let r = range, !r.contains(v) { throw .invalid("submission '\(target)' holds \(v); values must lie in [\(r.lowerBound), \(r.upperBound)]") }
                pred.append(v)
            }
            switch kind {
            case .auc: return try Metrics.rocAUC(labels: truth.map { $0 == 1 }, scores: pred)
            case .rmse: return Metrics.rmse(truth, pred)
            default: return Metrics.binaryLogLoss(truth, pred)
            }
        }
    }
}

/// An id column plus one probability column per class (answers one-hot); rows must sum to 1.
struct ProbabilityTableGrader: Grader {
    let name: String
    let idColumn: String
    /// The submission's column set must equal the answers' exactly (else extra columns are ignored).
    let exactColumns: Bool
    /// When set, the submission must have exactly this many columns.
    var columnCount: Int? = nil
    /// The class columns (default: every answers column but the id).
    var classes: [String]? = nil
    var engine: String { "native:mlebench/\(name)" }

    func score(submission: CSVTable, answers: CSVTable) throws(GradingError) -> Double {
        let classes = self.classes ?? answers.header.filter { $0 != idColumn }
        if let n = columnCount, submission.header.count != n || submission.rows.count != answers.rows.count {
            throw .invalid("submission shape (\(submission.rows.count), \(submission.header.count)) does not match the answers' (\(answers.rows.count), \(n))")
        }
        guard submission.columnIndex(idColumn) != nil else { throw .invalid("submission must have an '\(idColumn)' column") }
        for c in classes where submission.columnIndex(c) == nil { throw .invalid("submission must have a column for every class; '\(c)' is missing") }
        if exactColumns, Set(submission.header) != Set(answers.header) {
            throw .invalid("submission columns must be exactly id + the \(classes.count) classes")
        }
        let sCols = classes.map { submission.columnIndex($0)! }
        let aCols = classes.map { answers.columnIndex($0)! }
        let pairs = try alignByID(submission, answers, idColumn: idColumn)
        var total = 0.0
        for p in pairs {
            let srow = submission.rows[p.sub], arow = answers.rows[p.ans]
            var sum = 0.0
            var probs = [Double]()
            probs.reserveCapacity(sCols.count)
            for c in sCols {
                let v = try number(srow[c], "a probability")
                guard v >= 0 && v <= 1 else { throw .invalid("probabilities must lie in [0, 1]; found \(v)") }
                probs.append(v)
                sum += v
            }
            guard abs(sum - 1) <= 1e-6 + 1e-5 * 1 else { throw .invalid("each row's probabilities must sum to 1; id '\(srow[submission.columnIndex(idColumn)!])' sums to \(sum)") }
            for (k, c) in aCols.enumerated() {
                let y = (try? number(arow[c], "answer")) ?? 0
                if y != 0 { total -= y * _log(min(max(probs[k], Double.ulpOfOne), 1 - Double.ulpOfOne)) }
            }
        }
        return total / Double(max(pairs.count, 1))
    }
}

/// Mean of per-column ROC AUCs over the scored columns.
struct MeanColumnAUCGrader: Grader {
    let idColumn: String
    let columns: [String]
    /// The submission's columns must be exactly id + the scored columns (else others are ignored).
    let exactColumns: Bool
    /// Predictions must lie in [0, 1].
    let rangeCheck: Bool
    var engine: String { "native:mlebench/mean-column-wise-roc-auc" }

    func score(submission: CSVTable, answers: CSVTable) throws(GradingError) -> Double {
        if exactColumns {
            guard Set(submission.header) == Set([idColumn] + columns), submission.header.count == columns.count + 1 else {
                throw .invalid("submission columns must be exactly \(([idColumn] + columns).joined(separator: ", "))")
            }
        }
        for c in columns where submission.columnIndex(c) == nil { throw .invalid("class '\(c)' is not in the submission") }
        let pairs = try alignByID(submission, answers, idColumn: idColumn)
        var sum = 0.0
        for c in columns {
            let sc = submission.columnIndex(c)!
            let ac = try column(answers, c, side: "answers")
            var truth = [Bool](), pred = [Double]()
            for p in pairs {
                truth.append(try number(answers.rows[p.ans][ac], "answer") == 1)
                let v = try number(submission.rows[p.sub][sc], "submission '\(c)'")
                if rangeCheck && (v < 0 || v > 1) { throw .invalid("submission '\(c)' holds \(v): probabilities must lie in [0, 1]") }
                pred.append(v)
            }
            sum += try Metrics.rocAUC(labels: truth, scores: pred)
        }
        return sum / Double(columns.count)
    }
}

/// Rows paired by position (after sorting both by `sortKey`, when given), never by id — MLE-bench's quirk for these.
struct PositionalGrader: Grader {
    enum Metric { case rmse, rmsle }
    let name: String
    let sortKey: String?
    let columns: [String]
    let metric: Metric
    var engine: String { "native:mlebench/\(name)" }

    func score(submission: CSVTable, answers: CSVTable) throws(GradingError) -> Double {
        guard submission.rows.count == answers.rows.count else {
            throw .invalid("expected \(answers.rows.count) rows in the submission, got \(submission.rows.count)")
        }
        var sRows = submission.rows.map { Array($0) }, aRows = answers.rows.map { Array($0) }
        if let key = sortKey {
            let sk = try column(submission, key, side: "submission"), ak = try column(answers, key, side: "answers")
            sRows.sort { $0[sk] < $1[sk] }
            aRows.sort { $0[ak] < $1[ak] }
        }
        var total = 0.0
        for c in columns {
            let sc = try column(submission, c, side: "submission"), ac = try column(answers, c, side: "answers")
            var sum = 0.0
            for (s, a) in zip(sRows, aRows) {
                let p = try number(s[sc], "submission '\(c)'"), y = try number(a[ac], "answer '\(c)'")
                switch metric {
                case .rmse: sum += (p - y) * (p - y)
                case .rmsle:
                    guard p >= 0 && y >= 0 else { throw .invalid("RMSLE cannot be used with negative values ('\(c)' holds \(min(p, y)))") }
                    let d = _log1p(p) - _log1p(y)
                    sum += d * d
                }
            }
            total += (sum / Double(max(sRows.count, 1))).squareRoot()
        }
        return total / Double(columns.count)
    }
}

/// Jigsaw toxic comments: macro ROC AUC where MLE-bench pairs the submission's columns with the answers' by POSITION
/// (its quirk: reordered columns are silently misaligned), after dropping rows whose answer labels are all −1.
struct ColumnOrderAUCGrader: Grader {
    let idColumn: String
    let classes: [String]
    var engine: String { "native:mlebench/column-wise-roc-auc" }

    func score(submission: CSVTable, answers: CSVTable) throws(GradingError) -> Double {
        for c in [idColumn] + classes where submission.columnIndex(c) == nil { throw .invalid("submission is missing column '\(c)'") }
        guard submission.header.count == answers.header.count else {
            throw .invalid("submission has \(submission.header.count) columns, the answers \(answers.header.count) (columns are paired by position)")
        }
        let pairs = try alignByID(submission, answers, idColumn: idColumn)
        let sCols = submission.header.indices.filter { submission.header[$0] != idColumn }
        let aCols = answers.header.indices.filter { answers.header[$0] != idColumn }
        var kept = [(sub: Int, ans: Int)]()
        for p in pairs {
            var sum = 0.0
            for c in aCols { sum += try number(answers.rows[p.ans][c], "answer") }
            if sum >= 0 { kept.append(p) }
        }
        var total = 0.0
        for (sc, ac) in zip(sCols, aCols) {
            var truth = [Bool](), pred = [Double]()
            for p in kept {
                truth.append(try number(answers.rows[p.ans][ac], "answer") == 1)
                pred.append(try number(submission.rows[p.sub][sc], "submission '\(submission.header[sc])'"))
            }
            total += try Metrics.rocAUC(labels: truth, scores: pred)
        }
        return total / Double(aCols.count)
    }
}
