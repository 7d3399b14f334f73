#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// TensorFlow 2.0 Question Answering: the answers are simplified Natural Questions records (JSONL). A submission has a
/// `<id>_long` and a `<id>_short` row per example; each row is right when its answer is one of the annotated ones, or
/// blank when there is none (MLE-bench's micro F1 on these binary labels equals this accuracy).
struct QuestionAnsweringGrader: Grader {
    var engine: String { "native:mlebench/nq-micro-f1" }

    private struct Record: Decodable {
        struct Span: Decodable { var start_token: Int; var end_token: Int }
        struct Annotation: Decodable { var yes_no_answer: String?; var long_answer: Span?; var short_answers: [Span]? }
        var example_id: FlexibleID
        var annotations: [Annotation]
    }
    private struct FlexibleID: Decodable {
        var text: String
        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let i = try? c.decode(Int64.self) { text = String(i) } else { text = try c.decode(String.self) }
        }
    }

    /// One answers row per example: its id, the valid long answer and the valid short answers (space-separated).
    func loadAnswers(path: String) throws(GradingError) -> CSVTable {
        guard let data = FileManager.default.contents(atPath: path) else { throw .unavailable("cannot read the answers at \(path)") }
        var rows = [[String]]()
        for (n, line) in data.split(separator: 0x0A).enumerated() where !line.allSatisfy({ $0 == 0x20 || $0 == 0x0D }) {
            let r: Record
            do { r = try JSONDecoder().decode(Record.self, from: Data(line)) } catch {
                throw .unavailable("\(path) line \(n + 1) is not a Natural Questions record: \(error)")
            }
            let a = r.annotations.first
            var long = ""
            if let l = a?.long_answer, l.start_token != -1 { long = "\(l.start_token):\(l.end_token)" }
            var short = (a?.short_answers ?? []).map { "\($0.start_token):\($0.end_token)" }
            if let yn = a?.yes_no_answer, yn != "NONE" { short.append(yn) }
            rows.append([r.example_id.text, long, short.joined(separator: " ")])
        }
        return CSVTable(header: ["example_id", "long", "short"], rows: rows)
    }

    func score(submission: CSVTable, answers: CSVTable) throws(GradingError) -> Double {
        guard let si = submission.columnIndex("example_id"), let sp = submission.columnIndex("PredictionString") else {
            throw .invalid("submission must have 'example_id' and 'PredictionString' columns")
        }
        guard submission.rows.count == 2 * answers.rows.count else {
            throw .invalid("submission has \(submission.rows.count) rows; expected 2 × \(answers.rows.count) examples (a _long and a _short row each)")
        }
        var valid = [String: Set<String>]()
        for r in answers.rows {
            valid[r[0] + "_long"] = r[1].isEmpty ? [] : [r[1]]
            valid[r[0] + "_short"] = Set(words(r[2]).map(String.init))
        }
        let preds = PandasColumn(submission, sp)
        var seen = Set<String>(), right = 0
        for (k, row) in submission.rows.enumerated() {
            let id = row[si]
            guard let answers = valid[id], seen.insert(id).inserted else {
                throw .invalid("submission example_ids do not match the expected ones (a _long and a _short row per example; '\(id)' is unexpected or repeated)")
            }
            let pred = preds.text(k).trimmingCharacters(in: .whitespaces)
            if !pred.isEmpty && pred != "YES" && pred != "NO" {
                let parts = pred.split(separator: ":", omittingEmptySubsequences: false)
                guard parts.count == 2, Int(parts[0]) != nil, Int(parts[1]) != nil else {
                    throw .invalid("invalid PredictionString '\(pred)' for \(id): use start:end token offsets, YES, NO or blank")
                }
            }
            if pred.isEmpty ? answers.isEmpty : answers.contains(pred) { right += 1 }
        }
        return Double(right) / Double(max(submission.rows.count, 1))
    }
}
