/// MLE-bench's checks and words per competition (the data behind `MLEBenchMessages`), in the order its graders check.
extension MLEBenchMessages {
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
        for (c, id, target) in MLEBenchGraders.aucROCLite { t[c] = aucROC(id: id, target: target) }
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
