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

    /// MLE-bench's shared ROC AUC grader ("auc-roc" in config.yaml).
    static func aucROC(id: String, target: String) -> [Check] {
        [.column(target, "Submission should have a \(target) column"),
         .column(id, "Submission should have a \(id) column"),
         .rows { _, _ in "Submission and answers should have the same number of rows" },
         .range(target, 0, 1, "Submission \(target) column should contain probabilities, and therefore contain values between 0 and 1 inclusive"),
         .ids(id, "Submission and answers should have the same \(id) values")]
    }

    static let table: [String: [Check]] = {
        var t = [String: [Check]]()
        for (c, id, target) in [("aerial-cactus-identification", "id", "has_cactus"),
                                ("detecting-insults-in-social-commentary", "Comment", "Insult"),
                                ("histopathologic-cancer-detection", "id", "label"),
                                ("mlsp-2013-birds", "Id", "Probability"),
                                ("random-acts-of-pizza", "request_id", "requester_received_pizza"),
                                ("siim-isic-melanoma-classification", "image_name", "target"),
                                ("tabular-playground-series-may-2022", "id", "target"),
                                ("the-icml-2013-whale-challenge-right-whale-redux", "clip", "probability")] {
            t[c] = aucROC(id: id, target: target)
        }
        t["aptos2019-blindness-detection"] = [.column("diagnosis", "Submission must contain the target column 'diagnosis'"),
                                              .ids("id_code", "Submission must have the same id_codes as answers")]
        t["denoising-dirty-documents"] = [.column("value", "Submission must have a 'value' column."),
                                          .rows { s, a in "Expected the submission to have \(a) rows, but got \(s)." },
                                          .numeric("value", "Submission must have float values in the 'value' column."),
                                          .ids("id", "Expected the submission to have the same 'id' values as the answers, but they differ.")]
        t["dog-breed-identification"] = [.answerColumns(idColumn: "id") { "Submission must have columns for all dogs: \(pyList($0))" },
                                         .rows { _, _ in "Submission should be the same length as the answers" },
                                         .sumToOne(idColumn: "id", columns: [], "Dog probabilities in each row in submission should sum to one, as probabilities.")]
        t["dogs-vs-cats-redux-kernels-edition"] = [.column("label", "Submission is missing `label` column"),
                                                   .ids("id", "Submission and answers have different id's"),
                                                   .range("label", 0, 1, "All values in submission `label` column must be between 0 and 1.")]
        t["jigsaw-toxic-comment-classification-challenge"] = [
            .anyColumn(["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]) { "Submission is missing the following columns: {" + $0.map { "'\($0)'" }.joined(separator: ", ") + "}" }]
        t["leaf-classification"] = [.column("id", "Submission DataFrame must have an 'id' column and a column for each class."),
                                    .answerColumns(idColumn: "id") { _ in "Submission DataFrame must have an 'id' column and a column for each class." },
                                    .rows { _, _ in "Submission and answers DataFrames must have the same number of rows." },
                                    .sumToOne(idColumn: "id", columns: [], "Each row in submission should sum to one, as probabilities.")]
        t["new-york-city-taxi-fare-prediction"] = [.column("fare_amount", "Submission should have a fare_amount column")]
        t["nomad2018-predict-transparent-conductors"] = [
            .anyColumn(["formation_energy_ev_natom", "bandgap_energy_ev"]) { "Expected '\($0[0])' column in submission" },
            .rows { s, a in "Expected \(a) rows in submission, got \(s)" }]
        let plant = ["image_id", "healthy", "multiple_diseases", "rust", "scab"]
        t["plant-pathology-2020-fgvc7"] = [
            .exactColumns(plant) { "Expected submission to have columns \(pyList(plant)) but got \(pandasIndex($0))" },
            .rows { s, a in "Expected submission to have \(a) rows but got \(s)" },
            .ids("image_id", "Submission and answers DataFrames must have matching 'image_id' columns.")]
        t["ranzcr-clip-catheter-line-classification"] = [
            .anyColumn(["ETT - Abnormal", "ETT - Borderline", "ETT - Normal", "NGT - Abnormal", "NGT - Borderline",
                        "NGT - Incompletely Imaged", "NGT - Normal", "CVC - Abnormal", "CVC - Borderline"]) { "Class \($0[0]) is not in the submission." },
            .ids("StudyInstanceUID", "Submission and answers should have the same StudyInstanceUID values")]
        t["spooky-author-identification"] = [.shape { s, a in "Submission shape (\(s.0), \(s.1)) does not match answers shape (\(a.0), \(a.1))." },
                                             .sumToOne(idColumn: "id", columns: [], "Each row in submission should sum to one, as probabilities.")]
        for c in ["text-normalization-challenge-english-language", "text-normalization-challenge-russian-language"] {
            t[c] = [.column("after", "Submission must have a `after` column"),
                    .rows { _, _ in "Submission must have the same length as the answers." },
                    .ids("id", "Submission and Answers `id`'s do not match")]
        }
        t["tabular-playground-series-dec-2021"] = [.column("Cover_Type", "Submission must have a `Cover_Type` column"),
                                                   .rows { _, _ in "Submission must have the same length as the answers." },
                                                   .ids("Id", "Submission and Answers `Id`'s do not match")]
        // Medium split: the column, row-count and id checks (other defects keep podium's words for now).
        func three(_ c: String, _ col: [Check], rows: String?, ids: (String, String)?) {
            var checks = col
            if let rows { checks.append(.rows { _, _ in rows }) }
            if let ids { checks.append(.ids(ids.0, ids.1)) }
            t[c] = checks
        }
        t["AI4Code"] = [.anyColumn(["id", "cell_order"]) { _ in "Submission must have 'id' and 'cell_order' columns" },
                        .rows { _, _ in "Submission and answers must have the same length" },
                        .ids("id", "Submission and answers must have the same ids"),
                        .tokenCountPerID(idColumn: "id", column: "cell_order", "Ground truth and predictions must have the same length")]
        t["alaska2-image-steganalysis"] = [.column("Label", "Submission must have a 'Label' column"),
                                           .missing("Label", "Submission cannot contain NaNs"),
                                           .rows { _, _ in "Submission and answers must have the same length" },
                                           .ids("Id", "Submission and answers must have the same ids")]
        t["billion-word-imputation"] = [.column("sentence", "Missing sentence column in submission"),
                                        .rows { s, a in "Submission and answers have different lengths: \(s) vs \(a)" },
                                        .ids("id", "Submission and answers should contain the same IDs")]
        for (c, id, target) in [("cassava-leaf-disease-classification", "image_id", "label"),
                                ("cdiscount-image-classification-challenge", "_id", "category_id"),
                                ("iwildcam-2020-fgvc7", "Id", "Category"),
                                ("tensorflow-speech-recognition-challenge", "fname", "label")] {
            three(c, [.column(target, "Submission must have a `\(target)` column")], rows: "Submission must have the same length as the answers.",
                  ids: (id, "Submission and Answers `\(id)`'s do not match"))
        }
        three("chaii-hindi-and-tamil-question-answering", [.column("PredictionString", "Submission must have a `PredictionString` column")],
              rows: "Submission should be the same length as the answers", ids: ("id", "Submission does not contain same IDs as test"))
        t["champs-scalar-coupling"] = [.column("scalar_coupling_constant", "Target column scalar_coupling_constant not found in submission DataFrame."),
                                       .missingIntIDs("id") { "Submission is missing the following ids: \($0)" }]
        three("facebook-recruiting-iii-keyword-extraction", [.column("Tags", "Submission DataFrame must have a 'Tags' column.")],
              rows: "Submission DataFrame must have the same number of rows as the answers DataFrame.", ids: ("Id", "Submission and answers must have matching 'Id's."))
        t["google-quest-challenge"] = [.missingAnswerColumns(idColumn: "qa_id") { "Submission is missing the following columns: \($0)" },
                                       .columnCount { s, a in "Submission has \(s) columns, expected \(a)" },
                                       .rows { _, _ in "Submission and answers have different lengths" }]
        t["freesound-audio-tagging-2019"] = [.firstColumn("fname", "Submission must have an 'fname' column"),
                                             .sameColumnsAsAnswers("Submission classes do not match expected classes"),
                                             .rows { _, _ in "Submission and answers must have the same length" },
                                             .ids("fname", "Submission and answers must have the same ids"),
                                             .numericAfterSorting(idColumn: "fname") { "Error converting submission values to float: Unable to parse string \"\($0)\" at position \($1)" }]
        t["h-and-m-personalized-fashion-recommendations"] = [
            .exactColumns(["customer_id", "prediction"]) { _ in "Submission DataFrame must have 'customer_id' and 'prediction' columns." },
            .idsSuperset("customer_id", "Submission customer_id must be a superset of answers customer_id")]
        t["osic-pulmonary-fibrosis-progression"] = [.column("Confidence", "Submission DataFrame must have a 'Confidence' column."),
                                                    .numeric("FVC", "FVC column in submission must be numeric."),
                                                    .unknownID("Patient_Week") { "Patient_Week \($0) in submission does not exist in answers" }]
        for c in ["herbarium-2020-fgvc7", "herbarium-2021-fgvc8", "herbarium-2022-fgvc9"] {
            t[c] = [.anyColumn(["Id", "Predicted"]) { _ in "Submission must have 'Id' and 'Predicted' columns" },
                    .rows { s, a in "Submission length \(s) != answers length \(a)" },
                    .ids("Id", "Submission and answers have mismatched 'Id' columns")]
        }
        t["inaturalist-2019-fgvc6"] = [.anyColumn(["id", "predicted"]) { _ in "Submission must have 'id' and 'predicted' columns" },
                                       .rows { s, a in "Submission length \(s) != answers length \(a)" },
                                       .ids("id", "Submission and answers have mismatched 'id' columns")]
        t["hotel-id-2021-fgvc8"] = [.column("hotel_id", "Submission is missing `hotel_id` column"), .ids("image", "Submission and answers have different ids")]
        t["hubmap-kidney-segmentation"] = [.column("predicted", "Submission is missing the 'predicted' column"),
                                           .rows { s, a in "Submission has \(s) rows while answers has \(a) rows" },
                                           .ids("id", "Submission and answers have different id values")]
        t["icecube-neutrinos-in-deep-ice"] = [.exactColumns(["event_id", "azimuth", "zenith"]) { _ in "Submission must contain columns 'azimuth','zenith' and 'event_id'" },
                                              .rows { _, _ in "Submission and answers must have the same length" },
                                              .ids("event_id", "Submission and answers must have the same event_ids"),
                                              .numeric("azimuth", "Azimuth must be a number"),
                                              .missing("zenith", "Zenith must not be infinite")]
        three("imet-2020-fgvc7", [.column("attribute_ids", "Submission DataFrame must have a 'attribute_ids' column.")],
              rows: "Submission and answers DataFrames must have the same number of rows.", ids: ("id", "Submission and answers DataFrames must have matching 'id' columns."))
        three("jigsaw-unintended-bias-in-toxicity-classification", [.column("prediction", "Submission DataFrame must have a 'prediction' column.")],
              rows: nil, ids: ("id", "IDs in the submission and answers DataFrames do not match."))
        t["kuzushiji-recognition"] = [.anyColumn(["image_id", "labels"]) { _ in "Submission must have columns 'image_id' and 'labels'." },
                                      .rows { s, a in "Submission has \(s) rows, but expected \(a) rows." },
                                      .ids("image_id", "Submission image_id codes don't match solution."),
                                      .tokenGroupsWhole("labels", 3) { "Malformed prediction string: \($0)" }]
        three("learning-agency-lab-automated-essay-scoring-2", [.column("score", "Submission must contain the target column 'score'")],
              rows: nil, ids: ("essay_id", "Submission must contain the same ids as the answers"))
        t["multi-modal-gesture-recognition"] = [.column("Sequence", "Submission must have a 'Sequence' column"),
                                                .rows { _, _ in "Submission and answers must have the same length" },
                                                .ids("Id", "Submission and answers must have the same ids"),
                                                .intTokens("Sequence") { "Submission sequences must be integers separated by spaces. Failed to convert Sequence to list of integers: invalid literal for int() with base 10: '\($0)'" }]
        t["petfinder-pawpularity-score"] = [.column("Pawpularity", "Missing Pawpularity column in submission"),
                                            .ids("Id", "IDs in submission do not match IDs in answers"),
                                            .missing("Pawpularity", "Pawpularity in submission should be between 1 and 100"),
                                            .range("Pawpularity", 1, 100, "Pawpularity in submission should be between 1 and 100")]
        three("plant-pathology-2021-fgvc8", [.column("labels", "Submission DataFrame must have a 'labels' column.")],
              rows: "Submission and answers DataFrames must have the same number of rows.", ids: ("image", "Submission and answers DataFrames must have matching 'image' columns."))
        t["seti-breakthrough-listen"] = aucROC(id: "id", target: "target")
        t["statoil-iceberg-classifier-challenge"] = [.column("is_iceberg", "Submission is missing `is_iceberg` column"),
                                                     .ids("id", "Submission and answers have different id's"),
                                                     .range("is_iceberg", 0, 1, "All values in submission `is_iceberg` must be between 0 and 1.")]
        t["tgs-salt-identification-challenge"] = [
            .exactColumns(["id", "rle_mask"]) { "Expected submission to have columns ['id', 'rle_mask'], but got \(pandasIndex($0)) instead!" },
            .rows { s, a in "Expected submission to have \(a) rows, but got \(s) instead!" },
            .ids("id", "Expected submission to have the same IDs as answers, but got a different set of IDs!"),
            .rleSorted("rle_mask", "Error decoding RLE masks: The pairs in the RLE string must be sorted.")]
        three("tweet-sentiment-extraction", [.column("selected_text", "Submission DataFrame must have a 'selected_text' column.")],
              rows: "Submission and answers DataFrames must have the same number of rows.", ids: ("textID", "Submission and answers DataFrames must have the same textID values."))
        t["us-patent-phrase-to-phrase-matching"] = [
            .exactColumnsSubset(["id", "score"]) { "Submission must have columns ['id', 'score'], got \(pandasIndex($0))" },
            .rows { _, _ in "Submission and answers must have the same number of rows" },
            .ids("id", "Ids mismatch between submission and answers")]
        t["uw-madison-gi-tract-image-segmentation"] = [.anyColumn(["id", "class", "predicted"]) { _ in "Submission must have columns: id, class, predicted" }]
        t["ventilator-pressure-prediction"] = [.column("pressure", "Submission must contain the 'pressure' column"),
                                               .rows { _, _ in "Submission and answers must have the same length" },
                                               .ids("id", "Submission and answers must be aligned in id order")]
        t["whale-categorization-playground"] = [.exactColumns(["Image", "Id"]) { _ in "Submission DataFrame must have 'Image' and 'Id' columns." },
                                                .rows { _, _ in "Submission and answers DataFrames must have the same number of rows." },
                                                .ids("Image", "Submission and answers have different Image IDs")]
        t["lmsys-chatbot-arena"] = [
            .anyColumn(["winner_model_a", "winner_model_b", "winner_tie"]) { "Submission DataFrame is missing required columns: \(pyList($0))" },
            .rows { s, a in "Submission DataFrame must have \(a) rows, but has \(s) rows." },
            .range("winner_model_a", 0, 1, "All values in submission DataFrame must be between 0 and 1."),
            .range("winner_model_b", 0, 1, "All values in submission DataFrame must be between 0 and 1."),
            .range("winner_tie", 0, 1, "All values in submission DataFrame must be between 0 and 1."),
            .sumToOne(idColumn: "id", columns: ["winner_model_a", "winner_model_b", "winner_tie"], "Each row in submission DataFrame must sum to 1."),
            .ids("id", "Submission and answer IDs do not match after sorting.")]
        t["tensorflow2-question-answering"] = [
            .anyColumn(["example_id", "PredictionString"]) { _ in "Submission requires 'example_id' and 'PredictionString' columns." },
            .longShortRows { s, a in "Submission length \(s) != 2 * answers length \(a)" },
            .longShortIDs("Submission example_ids do not match expected_ids. Please ensure you have a long and short answer for each example_id in the answers."),
            .naturalQuestionsFormat { "Invalid submission format: \($0)" }]
        // High split.
        for (c, id, col) in [("3d-object-detection-for-autonomous-vehicles", "Id", "PredictionString"),
                             ("bms-molecular-translation", "image_id", "InChI"),
                             ("siim-covid19-detection", "id", "PredictionString")] {
            t[c] = [.column(col, "Submission must have a '\(col)' column"),
                    .rows { _, _ in "Submission and answers must have the same length" },
                    .ids(id, "Submission and answers must have the same ids")]
        }
        t["3d-object-detection-for-autonomous-vehicles"]! += [
            .tokenGroups("PredictionString", 9) { "Prediction string must have 9 tokens per object, but got \($0) tokens" }]
        t["siim-covid19-detection"]! += [
            .numericTokens("PredictionString", size: 6, labels: [0]) { "Could not parse PredictionString: could not convert string to float: '\($0)'" }]
        let covid = ["id_seqpos", "reactivity", "deg_Mg_pH10", "deg_Mg_50C", "deg_pH10", "deg_50C"]
        t["google-research-identify-contrails-reduce-global-warming"] = [
            .exactColumnsSubset(["record_id", "encoded_pixels"]) { "Expected submission to have columns ['record_id', 'encoded_pixels'], but got \(pandasIndex($0)) instead!" },
            .rows { s, a in "Expected submission to have \(a) rows, but got \(s) instead!" },
            .idSet("record_id", "Expected submission to have the same record_id's as answers, but got a different set of record_id's!")]
        let votes = ["seizure_vote", "lpd_vote", "gpd_vote", "lrda_vote", "grda_vote", "other_vote"]
        t["hms-harmful-brain-activity-classification"] = [
            .anyColumn(votes) { _ in "Submission must contain all target columns: \(pyList(votes))" },
            .rows { _, _ in "Submission and answers must have the same length" },
            .ids("eeg_id", "Submission and answers must have the same IDs"),
            .sumToOne(idColumn: "eeg_id", columns: votes, "Submission probabilities must add to 1 for each row")]
        t["iwildcam-2019-fgvc6"] = [.column("Category", "Submission must have 'Category' column"),
                                    .rows { s, a in "Submission length \(s) != answers length \(a)" },
                                    .ids("Id", "Submission and answers have mismatched 'Id' columns")]
        t["nfl-player-contact-detection"] = [.anyColumn(["contact_id", "contact"]) { _ in "Submission must have columns: contact_id, contact" },
                                             .idSet("contact_id", "Submission contact_id's inconsistent with answers contact_id's"),
                                             .rows { _, _ in "Submission contact_id's inconsistent with answers contact_id's" }]
        t["predict-volcanic-eruptions-ingv-oe"] = [.column("time_to_eruption", "Target column time_to_eruption not found in submissions DataFrame."),
                                                   .missingIntIDs("segment_id") { "Submission is missing the following segment_ids: \($0)" }]
        t["rsna-2022-cervical-spine-fracture-detection"] = [.column("fractured", "Submission is missing the `fractured` column."),
                                                            .missing("fractured", "Submission `fractured` values must be between 0 and 1."),
                                                            .range("fractured", 0, 1, "Submission `fractured` values must be between 0 and 1."),
                                                            .idSet("row_id", "Submission should contain same ids as answers.")]
        t["rsna-breast-cancer-detection"] = [.column("cancer", "cancer not in submission"),
                                             .rows { _, _ in "submission and answers have different lengths" },
                                             .ids("prediction_id", "prediction_id not aligned")]
        t["rsna-miccai-brain-tumor-radiogenomic-classification"] = aucROC(id: "BraTS21ID", target: "MGMT_value")
        t["smartphone-decimeter-2022"] = [
            .anyColumn(["tripId", "UnixTimeMillis", "LatitudeDegrees", "LongitudeDegrees"]) { "Submission DataFrame must have a '\($0[0])' column." },
            .rows { _, _ in "Submission and answers DataFrames must have the same number of rows." },
            .rowsPerGroup("tripId") { "Submission and answers DataFrames must have the same number of rows for each 'tripId'.Got \($0) rows in the submission and \($1) rows in the answers for tripId \($2)." }]
        t["stanford-covid-vaccine"] = [
            .exactColumns(covid) { "Expected the submission to have columns \(pyList(covid)), but instead it has columns \(pandasIndex($0))." },
            .rows { s, a in "Expected submission to be the same length as answers, but got \(s) instead of \(a)." },
            .sortedIDsRowByRow("id_seqpos") { "Expected submission to have the same `id_seqpos` as answers, but got `\($0)` instead of `\($1)` on row \($2) of the submission." }]
        t["vesuvius-challenge-ink-detection"] = [.columnTotal(2) { "Expected 2 indices in the submission DataFrame, but got \($0) indices." },
                                                 .rows { s, a in "Expected \(a) rows in the submission DataFrame, but got \(s) rows." },
                                                 .missing("Predicted", "Expected 'Predicted' column to be a string, got <class 'float'>.")]
        t["vinbigdata-chest-xray-abnormalities-detection"] = [
            .column("PredictionString", "Submission must have a `PredictionString` column"),
            .idSet("image_id", "The set of image_ids in the submission must match the set of image_ids in the answers")]
        return t
    }()
}

/// A set of integers as CPython 3.11 lays it out (open addressing, 9 linear probes then perturbation, growth at 60%
/// fill to 4× the used count), so that printing `set(a) - set(b)` gives Python's order: MLE-bench's "missing ids"
/// messages print such a set. Integers below 2^61 hash to themselves.
struct PythonIntSet {
    private var table: [Int?] = Array(repeating: nil, count: 8)
    private var used = 0
    private var mask: Int { table.count - 1 }
    static let linearProbes = 9, perturbShift = 5

    init() {}
    init(_ values: [Int]) { for v in values { insert(v) } }

    func contains(_ v: Int) -> Bool {
        var i = v & mask, perturb = UInt(bitPattern: v)
        while true {
            let probes = i + Self.linearProbes <= mask ? Self.linearProbes : 0
            for j in 0...probes {
                guard let k = table[i + j] else { return false }
                if k == v { return true }
            }
            perturb >>= UInt(Self.perturbShift)
            i = (i &* 5 &+ 1 &+ Int(bitPattern: perturb)) & mask
        }
    }

    mutating func insert(_ v: Int) {
        if contains(v) { return }
        Self.place(v, in: &table)
        used += 1
        if used * 5 >= mask * 3 { resize(minUsed: used > 50_000 ? used * 2 : used * 4) }
    }

    private static func place(_ v: Int, in table: inout [Int?]) {
        let mask = table.count - 1
        var i = v & mask, perturb = UInt(bitPattern: v)
        while true {
            let probes = i + linearProbes <= mask ? linearProbes : 0
            for j in 0...probes where table[i + j] == nil {
                table[i + j] = v
                return
            }
            perturb >>= UInt(perturbShift)
            i = (i &* 5 &+ 1 &+ Int(bitPattern: perturb)) & mask
        }
    }

    private mutating func resize(minUsed: Int) {
        var size = 8
        while size <= minUsed { size <<= 1 }
        var fresh = [Int?](repeating: nil, count: size)
        for case let v? in table { Self.place(v, in: &fresh) }
        table = fresh
    }

    /// Iteration order (what `repr` prints).
    var elements: [Int] { table.compactMap { $0 } }

    /// `self - other`, built as CPython builds it: this set's elements in its order, added to a new set.
    func subtracting(_ other: PythonIntSet) -> PythonIntSet {
        var out = PythonIntSet()
        for v in elements where !other.contains(v) { out.insert(v) }
        return out
    }

    var repr: String { "{" + elements.map(String.init).joined(separator: ", ") + "}" }
}
