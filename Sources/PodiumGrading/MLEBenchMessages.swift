/// MLE-bench's own words for an invalid submission, competition by competition: the checks its graders make, in their
/// order, each with the message it raises (`InvalidSubmissionError`). Applied only after podium's verified grader has
/// already found the submission invalid, so a verdict never changes here: this is wording, for agents that read
/// `/validate` as they would under MLE-bench. Competitions (or defects) not listed keep podium's own message.
/// Covered: every `InvalidSubmissionError` of the 75 competitions' parity fixtures (ValidationParityTests).
enum MLEBenchMessages {
    enum Check {
        /// A required column is missing.
        case column(String, String)
        /// The first missing column of a list, put in the message.
        case anyColumn([String], @Sendable ([String]) -> String)
        /// Row counts differ: (submission rows, answer rows) → message.
        case rows(@Sendable (Int, Int) -> String)
        /// The sorted id values differ.
        case ids(String, String)
        /// A value of the column is outside [lo, hi] (missing values are not counted).
        case range(String, Double, Double, String)
        /// A value of the column is not a number.
        case numeric(String, String)
        /// A row's values over these columns (all but the id column when empty) do not sum to 1.
        case sumToOne(idColumn: String, columns: [String], String)
        /// (rows, columns) of submission and answers differ: message from both shapes.
        case shape(@Sendable ((Int, Int), (Int, Int)) -> String)
        /// The columns are not exactly these (order free): message from the submission's header.
        case exactColumns([String], @Sendable ([String]) -> String)
        /// A column of the answers other than the id is missing: message from the answers' class columns.
        case answerColumns(idColumn: String, @Sendable ([String]) -> String)
        /// A value of the column is missing (an NA token or empty).
        case missing(String, String)
        /// A row's value of the column does not split into groups of `size` space-separated tokens: message from the count.
        case tokenGroups(String, Int, @Sendable (Int) -> String)
        /// In groups of `size` tokens, a token at a position other than `labels` is not a number: message from it.
        case numericTokens(String, size: Int, labels: Set<Int>, @Sendable (String) -> String)
        /// The submission does not have this many columns: message from the count it has.
        case columnTotal(Int, @Sendable (Int) -> String)
        /// Natural Questions: two rows (`<id>_long`, `<id>_short`) per answer example, and exactly those ids.
        case longShortRows(@Sendable (Int, Int) -> String)
        case longShortIDs(String)
        /// Rows sorted by the id column, then each other column's values parsed as numbers (pandas' `to_numeric`): the
        /// first bad value and its position in the sorted column → message.
        case numericAfterSorting(idColumn: String, @Sendable (String, Int) -> String)
        /// Per group (first appearance in the answers), the submission's and the answers' row counts: the first that
        /// differs → message (submission's, answers', group).
        case rowsPerGroup(String, @Sendable (Int, Int, String) -> String)
        /// Per id, the number of space-separated tokens of a column differs from the answers'.
        case tokenCountPerID(idColumn: String, column: String, String)
        /// Natural Questions PredictionString: "" or start:end spans (short answers also YES / NO) → message from a bad value.
        case naturalQuestionsFormat(@Sendable (String) -> String)
        /// Integer ids of the answers missing from the submission, printed as Python prints `set(answers) - set(sub)`.
        case missingIntIDs(String, @Sendable (String) -> String)
        /// A submission id that the answers do not have: message from it.
        case unknownID(String, @Sendable (String) -> String)
        /// The value is not space-separated integers (a missing value reads as 'nan'): message from the bad token.
        case intTokens(String, @Sendable (String) -> String)
        /// An RLE value whose starts are not increasing.
        case rleSorted(String, String)
        /// Sorted ids compared row by row: (submission's, answers', row) of the first difference → message.
        case sortedIDsRowByRow(String, @Sendable (String, String, Int) -> String)
        /// The whole value, when its tokens do not come in groups of `size`.
        case tokenGroupsWhole(String, Int, @Sendable (String) -> String)
        /// The sets of ids differ (answers may hold several rows per id).
        case idSet(String, String)
        /// Some answer id is not among the submission's ids.
        case idsSuperset(String, String)
        /// The first column is not this one.
        case firstColumn(String, String)
        /// The columns after the first are not the answers' (in order).
        case sameColumnsAsAnswers(String)
        /// Column counts differ (the id column not counted): (submission's, answers') → message.
        case columnCount(@Sendable (Int, Int) -> String)
        /// Answer columns (but the id) missing from the submission, as a Python set: message from them.
        case missingAnswerColumns(idColumn: String, @Sendable (String) -> String)
        /// One of these columns is missing (others may be there): message from the submission's header.
        case exactColumnsSubset([String], @Sendable ([String]) -> String)
    }

    static func message(competition: String, submission s: CSVTable, answers a: CSVTable) -> String? {
        guard let checks = table[competition] else { return nil }
        for check in checks {
            switch check {
            case .column(let c, let m):
                if s.columnIndex(c) == nil { return m }
            case .anyColumn(let cs, let m):
                let missing = cs.filter { s.columnIndex($0) == nil }
                if !missing.isEmpty { return m(missing) }
            case .rows(let m):
                if s.rows.count != a.rows.count { return m(s.rows.count, a.rows.count) }
            case .ids(let c, let m):
                guard let si = s.columnIndex(c), let ai = a.columnIndex(c) else { continue }
                let sv = s.rows.map { trimmedCell($0[si]) }.sorted(), av = a.rows.map { trimmedCell($0[ai]) }.sorted()
                if sv != av { return m }
            case .range(let c, let lo, let hi, let m):
                guard let i = s.columnIndex(c) else { continue }
                if s.rows.contains(where: { r in finiteNumber(r[i]).map { $0 < lo || $0 > hi } ?? false }) { return m }
            case .numeric(let c, let m):
                guard let i = s.columnIndex(c) else { continue }
                if s.rows.contains(where: { r in !naTokens.contains(trimmedCell(r[i])) && Double(trimmedCell(r[i])) == nil }) { return m }
            case .sumToOne(let id, let cols, let m):
                let idx = cols.isEmpty ? s.header.indices.filter { s.header[$0] != id } : cols.compactMap { s.columnIndex($0) }
                if s.rows.contains(where: { r in abs(idx.reduce(0.0) { $0 + (Double(trimmedCell(r[$1])) ?? .nan) } - 1) > 1e-6 }) { return m }
            case .shape(let m):
                let ss = (s.rows.count, s.header.count), aa = (a.rows.count, a.header.count)
                if ss != aa { return m(ss, aa) }
            case .exactColumns(let cs, let m):
                if Set(s.header) != Set(cs) || s.header.count != cs.count { return m(s.header) }
            case .missing(let c, let m):
                guard let i = s.columnIndex(c) else { continue }
                if s.rows.contains(where: { naTokens.contains(trimmedCell($0[i])) }) { return m }
            case .tokenGroups(let c, let size, let m):
                guard let i = s.columnIndex(c) else { continue }
                for r in s.rows {
                    let n = trimmedCell(r[i]).split(separator: " ").count
                    if n % size != 0 { return m(n) }
                }
            case .numericTokens(let c, let size, let labels, let m):
                guard let i = s.columnIndex(c) else { continue }
                for r in s.rows {
                    for (k, tok) in trimmedCell(r[i]).split(separator: " ").enumerated() where !labels.contains(k % size) && Double(tok) == nil {
                        return m(String(tok))
                    }
                }
            case .columnTotal(let n, let m):
                if s.header.count != n { return m(s.header.count) }
            case .numericAfterSorting(let id, let m):
                guard let ii = s.columnIndex(id) else { continue }
                let order = s.rows.indices.sorted { trimmedCell(s.rows[$0][ii]) < trimmedCell(s.rows[$1][ii]) }
                for c in s.header.indices where c != ii {
                    for (pos, r) in order.enumerated() {
                        let cell = trimmedCell(s.rows[r][c])
                        if !naTokens.contains(cell) && Double(cell) == nil { return m(cell, pos) }
                    }
                }
            case .rowsPerGroup(let g, let m):
                guard let si = s.columnIndex(g), let ai = a.columnIndex(g) else { continue }
                var sc = [String: Int](), ac = [String: Int](), order = [String]()
                for r in s.rows { sc[trimmedCell(r[si]), default: 0] += 1 }
                for r in a.rows {
                    let k = trimmedCell(r[ai])
                    if ac[k] == nil { order.append(k) }
                    ac[k, default: 0] += 1
                }
                if let k = order.first(where: { sc[$0, default: 0] != ac[$0] }) { return m(sc[k, default: 0], ac[k]!, k) }
            case .tokenCountPerID(let id, let col, let m):
                guard let si = s.columnIndex(id), let sv = s.columnIndex(col), let ai = a.columnIndex(id), let av = a.columnIndex(col) else { continue }
                var counts = [String: Int]()
                for r in s.rows { counts[trimmedCell(r[si])] = trimmedCell(r[sv]).split(separator: " ").count }
                if a.rows.contains(where: { row in
                    counts[trimmedCell(row[ai])].map { $0 != trimmedCell(row[av]).split(separator: " ").count } ?? false
                }) { return m }
            case .naturalQuestionsFormat(let m):
                guard let ii = s.columnIndex("example_id"), let pi = s.columnIndex("PredictionString") else { continue }
                func span(_ t: Substring) -> Bool {
                    let p = t.split(separator: ":", omittingEmptySubsequences: false)
                    return p.count == 2 && Int(p[0]) != nil && Int(p[1]) != nil
                }
                for r in s.rows {
                    let v = trimmedCell(r[pi])
                    if naTokens.contains(v) { continue }
                    let isShort = trimmedCell(r[ii]).hasSuffix("_short")
                    let ok = isShort ? (v == "YES" || v == "NO" || v.split(separator: " ").allSatisfy(span)) : span(Substring(v))
                    if !ok { return m(v) }
                }
            case .longShortRows(let m):
                if s.rows.count != 2 * a.rows.count { return m(s.rows.count, a.rows.count) }
            case .longShortIDs(let m):
                guard let si = s.columnIndex("example_id") else { continue }
                let want = a.rows.flatMap { ["\($0[0])_long", "\($0[0])_short"] }.sorted()
                if s.rows.map({ trimmedCell($0[si]) }).sorted() != want { return m }
            case .missingIntIDs(let c, let m):
                guard let si = s.columnIndex(c), let ai = a.columnIndex(c) else { continue }
                let sub = s.rows.compactMap { Int(trimmedCell($0[si])) }, ans = a.rows.compactMap { Int(trimmedCell($0[ai])) }
                guard ans.count == a.rows.count else { continue }  // not integer ids: podium's words
                let missing = PythonIntSet(ans).subtracting(PythonIntSet(sub))
                if !missing.elements.isEmpty { return m(missing.repr) }
            case .unknownID(let c, let m):
                guard let si = s.columnIndex(c), let ai = a.columnIndex(c) else { continue }
                let known = Set(a.rows.map { trimmedCell($0[ai]) })
                if let r = s.rows.first(where: { !known.contains(trimmedCell($0[si])) }) { return m(trimmedCell(r[si])) }
            case .intTokens(let c, let m):
                guard let i = s.columnIndex(c) else { continue }
                for r in s.rows {
                    let cell = trimmedCell(r[i])
                    let text = naTokens.contains(cell) ? "nan" : cell
                    if let bad = text.split(separator: " ").first(where: { Int($0) == nil }) { return m(String(bad)) }
                }
            case .rleSorted(let c, let m):
                guard let i = s.columnIndex(c) else { continue }
                for r in s.rows {
                    let nums = trimmedCell(r[i]).split(separator: " ").compactMap { Int($0) }
                    let starts = stride(from: 0, to: nums.count - 1, by: 2).map { nums[$0] }
                    if zip(starts, starts.dropFirst()).contains(where: { $0 >= $1 }) { return m }
                }
            case .sortedIDsRowByRow(let c, let m):
                guard let si = s.columnIndex(c), let ai = a.columnIndex(c), s.rows.count == a.rows.count else { continue }
                let sv = s.rows.map { trimmedCell($0[si]) }.sorted(), av = a.rows.map { trimmedCell($0[ai]) }.sorted()
                if let k = sv.indices.first(where: { sv[$0] != av[$0] }) { return m(sv[k], av[k], k) }
            case .tokenGroupsWhole(let c, let size, let m):
                guard let i = s.columnIndex(c) else { continue }
                for r in s.rows {
                    let cell = trimmedCell(r[i])
                    if !naTokens.contains(cell), cell.split(separator: " ").count % size != 0 { return m(cell) }
                }
            case .idSet(let c, let m):
                guard let si = s.columnIndex(c), let ai = a.columnIndex(c) else { continue }
                if Set(s.rows.map { trimmedCell($0[si]) }) != Set(a.rows.map { trimmedCell($0[ai]) }) { return m }
            case .idsSuperset(let c, let m):
                guard let si = s.columnIndex(c), let ai = a.columnIndex(c) else { continue }
                let have = Set(s.rows.map { trimmedCell($0[si]) })
                if a.rows.contains(where: { !have.contains(trimmedCell($0[ai])) }) { return m }
            case .firstColumn(let c, let m):
                if s.header.first != c { return m }
            case .sameColumnsAsAnswers(let m):
                if Array(s.header.dropFirst()) != Array(a.header.dropFirst()) { return m }
            case .columnCount(let m):
                if s.header.count != a.header.count { return m(s.header.count - 1, a.header.count - 1) }
            case .missingAnswerColumns(let id, let m):
                let missing = a.header.filter { $0 != id && s.columnIndex($0) == nil }
                if !missing.isEmpty { return m("{" + missing.map { "'\($0)'" }.joined(separator: ", ") + "}") }
            case .exactColumnsSubset(let cs, let m):
                if cs.contains(where: { s.columnIndex($0) == nil }) { return m(s.header) }
            case .answerColumns(let id, let m):
                let classes = a.header.filter { $0 != id }
                if classes.contains(where: { s.columnIndex($0) == nil }) { return m(classes) }
            }
        }
        return nil
    }

    /// Python's repr of a list of strings: ['a', 'b'].
    static func pyList(_ xs: [String]) -> String { "[" + xs.map { "'\($0)'" }.joined(separator: ", ") + "]" }

    /// pandas' repr of an object Index of strings, wrapped as pandas' `format_object_summary` does at 80 columns
    /// (the last value with 2 columns less); a wrapped list puts `dtype` on a line of its own.
    static func pandasIndex(_ xs: [String]) -> String {
        guard !xs.isEmpty else { return "Index([], dtype='object')" }
        let items = xs.map { "'\($0)'" }
        let indent = "\n       "  // a newline and len("Index") + 2 spaces
        var summary = "", line = indent
        func rstrip(_ t: String) -> String { String(t.reversed().drop(while: { $0 == " " }).reversed()) }
        func extend(_ value: String, _ width: Int) {
            if rstrip(line).count + rstrip(value).count >= width {
                summary += rstrip(line)
                line = indent
            }
            line += value
        }
        for item in items.dropLast() { extend(item + ", ", 80) }
        extend(items.last!, 78)
        summary += line
        let body = "[" + summary.dropFirst(indent.count)
        return body.contains("\n") ? "Index(" + body + "],\n      dtype='object')" : "Index(" + body + "], dtype='object')"
    }
}
