/// MLE-bench's own words for an invalid submission, competition by competition: the checks its graders make, in their
/// order, each with the message it raises (`InvalidSubmissionError`). Applied only after podium's verified grader has
/// already found the submission invalid, so a verdict never changes here: this is wording, for agents that read
/// `/validate` as they would under MLE-bench. Competitions (or defects) not listed keep podium's own message.
/// Covered so far: the Lite ("low") split, and the column/row/id checks of most of the medium split.
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

    /// pandas' repr of an object Index of strings: one line up to 80 characters, else wrapped as pandas does.
    static func pandasIndex(_ xs: [String]) -> String {
        let one = "Index(\(pyList(xs)), dtype='object')"
        if one.count <= 80 { return one }
        var lines = [String](), line = "Index(["
        for (k, x) in xs.enumerated() {
            let item = "'\(x)'" + (k < xs.count - 1 ? "," : "")
            if line.count + item.count + 1 > 80 && line != "Index([" { lines.append(line); line = "       " + item }
            else { line += (line == "Index([" ? "" : " ") + item }
        }
        lines.append(line + "],")
        return lines.joined(separator: "\n") + "\n      dtype='object')"
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
                        .ids("id", "Submission and answers must have the same ids")]
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
        t["champs-scalar-coupling"] = [.column("scalar_coupling_constant", "Target column scalar_coupling_constant not found in submission DataFrame.")]
        three("facebook-recruiting-iii-keyword-extraction", [.column("Tags", "Submission DataFrame must have a 'Tags' column.")],
              rows: "Submission DataFrame must have the same number of rows as the answers DataFrame.", ids: ("Id", "Submission and answers must have matching 'Id's."))
        t["google-quest-challenge"] = [.columnCount { s, a in "Submission has \(s) columns, expected \(a)" },
                                       .missingAnswerColumns(idColumn: "qa_id") { "Submission is missing the following columns: \($0)" },
                                       .rows { _, _ in "Submission and answers have different lengths" }]
        t["freesound-audio-tagging-2019"] = [.firstColumn("fname", "Submission must have an 'fname' column"),
                                             .sameColumnsAsAnswers("Submission classes do not match expected classes"),
                                             .rows { _, _ in "Submission and answers must have the same length" },
                                             .ids("fname", "Submission and answers must have the same ids")]
        t["h-and-m-personalized-fashion-recommendations"] = [
            .exactColumns(["customer_id", "prediction"]) { _ in "Submission DataFrame must have 'customer_id' and 'prediction' columns." },
            .idsSuperset("customer_id", "Submission customer_id must be a superset of answers customer_id")]
        t["osic-pulmonary-fibrosis-progression"] = [.column("Confidence", "Submission DataFrame must have a 'Confidence' column."),
                                                    .numeric("FVC", "FVC column in submission must be numeric.")]
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
                                      .ids("image_id", "Submission image_id codes don't match solution.")]
        three("learning-agency-lab-automated-essay-scoring-2", [.column("score", "Submission must contain the target column 'score'")],
              rows: nil, ids: ("essay_id", "Submission must contain the same ids as the answers"))
        t["multi-modal-gesture-recognition"] = [.column("Sequence", "Submission must have a 'Sequence' column"),
                                                .rows { _, _ in "Submission and answers must have the same length" },
                                                .ids("Id", "Submission and answers must have the same ids")]
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
            .ids("id", "Expected submission to have the same IDs as answers, but got a different set of IDs!")]
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
        return t
    }()
}
