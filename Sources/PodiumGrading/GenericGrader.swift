/// Grades competitions whose answers file is `id` + target columns and whose submission has the same columns:
/// the bundled mini benchmark and any user competition laid out that way (`grader.engine: podium-generic`).
public struct GenericGrader: Grader {
    public enum Metric: String, Sendable, CaseIterable {
        case aucROC = "auc-roc"
        case accuracy
        case multiClassLogLoss = "multi-class-log-loss"
        case rmse
        case mae
    }

    public let metric: Metric
    public init(metric: Metric) { self.metric = metric }

    public var engine: String { "native:podium-generic/\(metric.rawValue)" }

    public func score(submission: CSVTable, answers: CSVTable) throws(GradingError) -> Double {
        guard let idColumn = answers.header.first else { throw .unavailable("the answers file has no columns") }
        let targets = Array(answers.header.dropFirst())
        try checkColumns(submission.header, expected: answers.header)
        let aligned = try align(submission: submission, answers: answers, idColumn: idColumn)
        let sCols = targets.map { submission.columnIndex($0)! }
        let aCols = targets.map { answers.columnIndex($0)! }

        func numbers(_ rows: [[String]], _ col: Int, _ what: String, ids: [String]) throws(GradingError) -> [Double] {
            var out = [Double]()
            out.reserveCapacity(rows.count)
            for (k, r) in rows.enumerated() {
                guard let v = finiteNumber(r[col]) else {
                    throw .invalid("\(what) column '\(targets[aCols.firstIndex(of: col) ?? sCols.firstIndex(of: col) ?? 0])' for id '\(ids[k])' is '\(r[col])', not a finite number")
                }
                out.append(v)
            }
            return out
        }

        let ids = aligned.answers.map { $0[0] }
        switch metric {
        case .aucROC, .accuracy, .rmse, .mae:
            guard targets.count == 1 else { throw .unavailable("\(metric.rawValue) needs exactly one target column, the answers have \(targets.count)") }
            if metric == .accuracy {
                for (k, r) in aligned.submission.enumerated() where naTokens.contains(trimmedCell(r[sCols[0]])) {
                    throw .invalid("submission column '\(targets[0])' is empty for id '\(ids[k])'")
                }
                return Metrics.accuracy(aligned.answers.map { $0[aCols[0]] }, aligned.submission.map { $0[sCols[0]] })
            }
            let truth = try numbers(aligned.answers, aCols[0], "answers", ids: ids)
            let pred = try numbers(aligned.submission, sCols[0], "submission", ids: ids)
            switch metric {
            case .aucROC:
                let positive = truth.max()!
                return try Metrics.rocAUC(labels: truth.map { $0 == positive }, scores: pred)
            case .rmse: return Metrics.rmse(truth, pred)
            default: return Metrics.mae(truth, pred)
            }
        case .multiClassLogLoss:
            guard targets.count >= 2 else { throw .unavailable("log loss needs one probability column per class") }
            var truthClass = [Int]()
            var probs = [[Double]]()
            for (k, (a, s)) in zip(aligned.answers, aligned.submission).enumerated() {
                var best = 0
                var row = [Double]()
                for (j, (ac, sc)) in zip(aCols, sCols).enumerated() {
                    if (finiteNumber(a[ac]) ?? 0) > (finiteNumber(a[aCols[best]]) ?? 0) { best = j }
                    guard let p = finiteNumber(s[sc]), p >= 0 else {
                        throw .invalid("submission column '\(targets[j])' for id '\(ids[k])' is '\(s[sc])', not a probability ≥ 0")
                    }
                    row.append(p)
                }
                truthClass.append(best)
                probs.append(row)
            }
            return Metrics.logLoss(trueClass: truthClass, probabilities: probs)
        }
    }

    private func checkColumns(_ got: [String], expected: [String]) throws(GradingError) {
        var seen = Set<String>()
        for c in got where !seen.insert(c).inserted { throw .invalid("submission column '\(c)' appears twice") }
        for c in expected where !seen.contains(c) {
            throw .invalid("submission is missing column '\(c)' (expected columns: \(expected.joined(separator: ",")))")
        }
        for c in got where !expected.contains(c) {
            throw .invalid("submission has unexpected column '\(c)' (expected columns: \(expected.joined(separator: ",")))")
        }
    }

    private func align(submission: CSVTable, answers: CSVTable, idColumn: String) throws(GradingError)
        -> (submission: [[String]], answers: [[String]]) {
        let pairs = try alignByID(submission, answers, idColumn: idColumn)
        return (pairs.map { Array(submission.rows[$0.sub]) }, pairs.map { Array(answers.rows[$0.ans]) })
    }
}
