import PodiumCore

/// Graders whose rows group into larger units (trips, studies, notebooks) or whose metric needs whole-row context.
extension MLEBenchGraders {
    static func structuredGraders() -> [String: any Grader] {
        var g = [String: any Grader]()
        g["smartphone-decimeter-2022"] = TripDistanceGrader()

        g["rsna-2022-cervical-spine-fracture-detection"] = AlignedGrader(
            name: "weighted-multi-label-log-loss", idColumn: "row_id", columns: ["fractured"]
        ) { rows throws(GradingError) in
            let (y, p) = try rows.numbers("fractured", allowNaN: true)
            for v in p where !(v >= 0 && v <= 1) { throw .invalid("submission 'fractured' values must be between 0 and 1; found \(v)") }
            let ids = try rows.ansColumn("row_id")
            var studies = [String: (loss: Double, weight: Double)]()
            for (k, pair) in rows.pairs.enumerated() {
                let id = ids.cells[pair.ans]
                guard let cut = id.firstIndex(of: "_") else { throw .unavailable("answers row_id '\(id)' has no '_<label>' suffix") }
                let study = String(id[..<cut]), label = id[id.index(after: cut)...]
                let q = min(max(p[k], 1e-15), 1 - 1e-15)
                let loss = -(y[k] * _log(q) + (1 - y[k]) * _log(1 - q))
                let w = (label == "patient_overall" ? 7.0 : 1.0) * (y[k] == 1 ? 2 : 1)
                let e = studies[study, default: (0, 0)]
                studies[study] = (e.loss + w * loss, e.weight + w)
            }
            return studies.values.map { $0.loss / $0.weight }.reduce(0, +) / Double(max(studies.count, 1))
        }

        g["AI4Code"] = AlignedGrader(name: "kendall-tau", idColumn: "id", columns: ["cell_order"]) { rows throws(GradingError) in
            let s = rows.subColumn("cell_order"), a = try rows.ansColumn("cell_order")
            var inversions = 0, pairsTotal = 0
            for p in rows.pairs {
                let truth = words(a.str(p.ans)).map(String.init), pred = words(s.str(p.sub)).map(String.init)
                guard truth.count == pred.count else {
                    throw .invalid("notebook '\(rows.sub.rows[p.sub][rows.sub.columnIndex("id")!])' lists \(pred.count) cells; it has \(truth.count)")
                }
                var position = [String: Int]()
                for (k, c) in pred.enumerated() where position[c] == nil { position[c] = k }
                var ranks = [Int]()
                ranks.reserveCapacity(truth.count)
                for c in truth {
                    guard let r = position[c] else { throw .invalid("cell '\(c)' is not in the submitted order of its notebook") }
                    ranks.append(r)
                }
                inversions += countInversions(ranks)
                pairsTotal += truth.count * (truth.count - 1)
            }
            return 1 - 4 * Double(inversions) / Double(pairsTotal)
        }

        g["freesound-audio-tagging-2019"] = LWLRAPGrader()
        g["tensorflow2-question-answering"] = QuestionAnsweringGrader()
        g["siim-covid19-detection"] = BoxMAPGrader()
        g["vinbigdata-chest-xray-abnormalities-detection"] = COCOBoxAPGrader()
        g["3d-object-detection-for-autonomous-vehicles"] = Lyft3DGrader()

        let identities = ["male", "female", "homosexual_gay_or_lesbian", "christian", "jewish", "muslim", "black", "white",
                          "psychiatric_or_mental_illness"]
        g["jigsaw-unintended-bias-in-toxicity-classification"] = JigsawBiasGrader(identities: identities)

        g["kuzushiji-recognition"] = AlignedGrader(name: "pooled-f1-points-in-boxes", idColumn: "image_id", columns: ["labels"]) { rows throws(GradingError) in
            let s = rows.subColumn("labels"), a = try rows.ansColumn("labels")
            var tp = 0, fp = 0, fn = 0
            for p in rows.pairs {
                let predTokens = words(s.text(p.sub)), truthTokens = words(a.text(p.ans))
                guard predTokens.count % 3 == 0 else { throw .invalid("malformed prediction string (not 'label x y' triples): \(s.cells[p.sub].prefix(60))") }
                var preds = [(label: Substring, x: Double, y: Double)]()
                for k in stride(from: 0, to: predTokens.count, by: 3) {
                    guard let x = parseFloat(String(predTokens[k + 1])), let y = parseFloat(String(predTokens[k + 2])) else {
                        throw .invalid("could not read the coordinates '\(predTokens[k + 1]) \(predTokens[k + 2])' as numbers")
                    }
                    preds.append((predTokens[k], x, y))
                }
                var used = [Bool](repeating: false, count: preds.count)
                for k in stride(from: 0, to: truthTokens.count - truthTokens.count % 5, by: 5) {
                    let label = truthTokens[k]
                    let x = parseFloat(String(truthTokens[k + 1])) ?? .nan, y = parseFloat(String(truthTokens[k + 2])) ?? .nan
                    let w = parseFloat(String(truthTokens[k + 3])) ?? .nan, h = parseFloat(String(truthTokens[k + 4])) ?? .nan
                    if let m = preds.indices.first(where: { !used[$0] && preds[$0].label == label && x < preds[$0].x && preds[$0].x < x + w
                                                          && y < preds[$0].y && preds[$0].y < y + h }) {
                        used[m] = true
                        tp += 1
                    } else {
                        fn += 1
                    }
                }
                fp += used.filter { !$0 }.count
            }
            guard tp + fp > 0, tp + fn > 0 else { return 0 }
            let precision = Double(tp) / Double(tp + fp), recall = Double(tp) / Double(tp + fn)
            guard precision > 0, recall > 0 else { return 0 }
            return 2 * precision * recall / (precision + recall)
        }
        return g
    }
}

/// Inversions in a sequence (pairs i < j with a[i] > a[j]), by merge sort.
func countInversions(_ a: [Int]) -> Int {
    var v = a, buffer = a
    func sort(_ lo: Int, _ hi: Int) -> Int {
        guard hi - lo > 1 else { return 0 }
        let mid = (lo + hi) / 2
        var n = sort(lo, mid) + sort(mid, hi)
        var i = lo, j = mid, k = lo
        while i < mid || j < hi {
            if j >= hi || (i < mid && v[i] <= v[j]) { buffer[k] = v[i]; i += 1 } else { buffer[k] = v[j]; n += mid - i; j += 1 }
            k += 1
        }
        for t in lo..<hi { v[t] = buffer[t] }
        return n
    }
    return sort(0, v.count)
}

/// Smartphone decimeter: per trip, rows paired by file position; mean of the 50th and 95th percentile haversine error.
struct TripDistanceGrader: Grader {
    var engine: String { "native:mlebench/average-haversine-distance" }

    func score(submission: CSVTable, answers: CSVTable) throws(GradingError) -> Double {
        let cols = ["tripId", "UnixTimeMillis", "LatitudeDegrees", "LongitudeDegrees"]
        for c in cols where submission.columnIndex(c) == nil { throw .invalid("submission must have a '\(c)' column") }
        for c in cols where answers.columnIndex(c) == nil { throw .unavailable("answers have no '\(c)' column") }
        guard submission.rows.count == answers.rows.count else {
            throw .invalid("submission has \(submission.rows.count) rows, the answers \(answers.rows.count)")
        }
        func trips(_ t: CSVTable) -> (order: [String], rows: [String: [Int]]) {
            let c = t.columnIndex("tripId")!
            var order = [String](), rows = [String: [Int]]()
            for (k, r) in t.rows.enumerated() {
                if rows[r[c]] == nil { order.append(r[c]) }
                rows[r[c], default: []].append(k)
            }
            return (order, rows)
        }
        let (order, aRows) = trips(answers), (_, sRows) = trips(submission)
        let sLat = PandasColumn(submission, submission.columnIndex("LatitudeDegrees")!), sLon = PandasColumn(submission, submission.columnIndex("LongitudeDegrees")!)
        let aLat = PandasColumn(answers, answers.columnIndex("LatitudeDegrees")!), aLon = PandasColumn(answers, answers.columnIndex("LongitudeDegrees")!)
        var total = 0.0
        for trip in order {
            let a = aRows[trip]!, s = sRows[trip] ?? []
            guard a.count == s.count else { throw .invalid("trip '\(trip)' has \(s.count) rows in the submission and \(a.count) in the answers") }
            var d = [Double]()
            for (i, j) in zip(s, a) {
                guard let la = sLat.double(i), let lo = sLon.double(i) else { throw .invalid("submission coordinates must be numbers") }
                d.append(haversine(la, lo, aLat.double(j) ?? .nan, aLon.double(j) ?? .nan))
            }
            d.sort()
            total += (linearQuantile(d, 0.5) + linearQuantile(d, 0.95)) / 2
        }
        return total / Double(max(order.count, 1))
    }

    func haversine(_ lat1: Double, _ lon1: Double, _ lat2: Double, _ lon2: Double) -> Double {
        let r = 6_371_000.0, rad = Double.pi / 180
        let dLat = (lat2 - lat1) * rad, dLon = (lon2 - lon1) * rad
        let a = _sin(dLat / 2) * _sin(dLat / 2) + _cos(lat1 * rad) * _cos(lat2 * rad) * _sin(dLon / 2) * _sin(dLon / 2)
        return 2 * r * _asin(a.squareRoot())
    }
}

/// Freesound 2019: label-weighted label-ranking average precision; columns exactly fname + the classes, in order.
struct LWLRAPGrader: Grader {
    var engine: String { "native:mlebench/label-ranking-average-precision" }

    func score(submission: CSVTable, answers: CSVTable) throws(GradingError) -> Double {
        guard submission.header.first == "fname" else { throw .invalid("submission must have 'fname' as its first column") }
        guard submission.header == answers.header else {
            throw .invalid("submission columns must be fname followed by the \(answers.header.count - 1) classes in the official order")
        }
        let pairs = try sameRowPairs(submission, answers, idColumn: "fname")
        let classes = Array(1..<answers.header.count)
        var weighted = 0.0, weights = 0.0
        for p in pairs {
            var scores = [Double]()
            for c in classes {
                let cell = submission.rows[p.sub][c]
                guard let v = parseFloat(trimmedCell(cell)), !isNAToken(cell) else { throw .invalid("submission values must be numbers; found '\(cell)' in '\(submission.header[c])'") }
                scores.append(v)
            }
            let relevant = classes.indices.filter { (parseFloat(trimmedCell(answers.rows[p.ans][classes[$0]])) ?? 0) > 0 }
            guard !relevant.isEmpty else { continue }
            var aux = 1.0
            if relevant.count < classes.count {
                var sum = 0.0
                for j in relevant {
                    let rank = scores.filter { $0 >= scores[j] }.count
                    let lrank = relevant.filter { scores[$0] >= scores[j] }.count
                    sum += Double(lrank) / Double(rank)
                }
                aux = sum / Double(relevant.count)
            }
            weighted += Double(relevant.count) * aux
            weights += Double(relevant.count)
        }
        guard weights > 0 else { throw .invalid("no row has a true label") }
        return weighted / weights
    }
}

/// Jigsaw unintended bias: overall AUC blended with power means of subgroup, BPSN and BNSP AUCs, on predictions
/// binarised at 0.5 (MLE-bench's quirk, reproduced).
struct JigsawBiasGrader: Grader {
    let identities: [String]
    var engine: String { "native:mlebench/jigsaw-bias-auc" }

    func score(submission: CSVTable, answers: CSVTable) throws(GradingError) -> Double {
        guard let predName = ["prediction", "toxicity"].first(where: { submission.columnIndex($0) != nil }) else {
            throw .invalid("submission must have a 'prediction' column")
        }
        let pairs = try sameRowPairs(submission, answers, idColumn: "id")
        let rows = AlignedRows(sub: submission, ans: answers, pairs: pairs)
        let (toxicity, pred) = try rows.numbers(predName, answerColumn: "toxicity")
        let toxic = toxicity.map { $0 >= 0.5 }, binary = pred.map { $0 >= 0.5 ? 1.0 : 0.0 }
        func auc(_ mask: [Bool]) throws(GradingError) -> Double {
            var l = [Bool](), s = [Double]()
            for k in mask.indices where mask[k] { l.append(toxic[k]); s.append(binary[k]) }
            return try Metrics.rocAUC(labels: l, scores: s)
        }
        var sub = [Double](), bpsn = [Double](), bnsp = [Double]()
        for id in identities {
            let col = try rows.ansColumn(id)
            let member = pairs.map { (col.double($0.ans) ?? 0) >= 0.5 }
            sub.append(try auc(member))
            bpsn.append(try auc(member.indices.map { (!toxic[$0] && member[$0]) || (toxic[$0] && !member[$0]) }))
            bnsp.append(try auc(member.indices.map { (toxic[$0] && member[$0]) || (!toxic[$0] && !member[$0]) }))
        }
        func powerMean(_ v: [Double]) -> Double { _pow(v.map { _pow($0, -5) }.reduce(0, +) / Double(v.count), -0.2) }
        let overall = try auc(Array(repeating: true, count: pairs.count))
        return 0.25 * overall + 0.25 * powerMean(sub) + 0.25 * powerMean(bpsn) + 0.25 * powerMean(bnsp)
    }
}

/// SIIM COVID-19: mean over the answers' classes of the average precision of greedy IoU > 0.5 box matches, pooled
/// over all rows (study-level labels carry the dummy box 0 0 1 1).
struct BoxMAPGrader: Grader {
    var engine: String { "native:mlebench/map-iou-0.5" }

    struct Box { var label: Substring; var confidence: Double; var x1, y1, x2, y2: Double }

    static func boxes(_ text: String, what: String) throws(GradingError) -> [Box] {
        let t = words(text)
        guard t.count % 6 == 0 else { throw .invalid("\(what) '\(text.prefix(50))' is not a list of 'label confidence xmin ymin xmax ymax'") }
        var out = [Box]()
        for k in stride(from: 0, to: t.count, by: 6) {
            var v = [Double]()
            for j in 1...5 {
                guard let x = parseFloat(String(t[k + j])) else { throw .invalid("could not read '\(t[k + j])' in \(what) as a number") }
                v.append(x)
            }
            out.append(Box(label: t[k], confidence: v[0], x1: v[1], y1: v[2], x2: v[3], y2: v[4]))
        }
        return out
    }

    static func iou(_ a: Box, _ b: Box) -> Double {
        let w = max(0, min(a.x2, b.x2) - max(a.x1, b.x1)), h = max(0, min(a.y2, b.y2) - max(a.y1, b.y1))
        let inter = w * h, union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter
        return union > 0 ? inter / union : 0
    }

    func score(submission: CSVTable, answers: CSVTable) throws(GradingError) -> Double {
        guard submission.columnIndex("id") != nil, submission.columnIndex("PredictionString") != nil else {
            throw .invalid("submission must have 'id' and 'PredictionString' columns")
        }
        let pairs = try sameRowPairs(submission, answers, idColumn: "id")
        let rows = AlignedRows(sub: submission, ans: answers, pairs: pairs)
        let s = rows.subColumn("PredictionString"), a = try rows.ansColumn("PredictionString")
        var predicted = [[Box]](), truth = [[Box]]()
        for p in pairs {
            guard !s.isNA(p.sub) else { throw .invalid("PredictionString is empty for id '\(submission.rows[p.sub][submission.columnIndex("id")!])'") }
            predicted.append(try Self.boxes(s.cells[p.sub], what: "PredictionString"))
            truth.append(try Self.boxes(a.text(p.ans), what: "the answers"))
        }
        let classes = Set(truth.flatMap { $0.map(\.label) })
        guard !classes.isEmpty else { throw .unavailable("the answers hold no labelled boxes") }
        var total = 0.0
        for c in classes {
            var labels = [Bool](), scores = [Double]()
            for (preds, gts) in zip(predicted, truth) {
                let ps = preds.filter { $0.label == c }.sorted { $0.confidence > $1.confidence }
                let gs = gts.filter { $0.label == c }
                if ps.isEmpty && gs.isEmpty { labels.append(false); scores.append(0); continue }
                var used = [Bool](repeating: false, count: gs.count)
                for p in ps {
                    var best = 0.5, match: Int?
                    for (k, g) in gs.enumerated() where !used[k] {
                        let v = Self.iou(p, g)
                        if v > best { best = v; match = k }
                    }
                    if let m = match { used[m] = true }
                    labels.append(match != nil)
                    scores.append(p.confidence)
                }
                for k in gs.indices where !used[k] { labels.append(true); scores.append(0) }
            }
            total += Metrics.averagePrecision(labels: labels, scores: scores)
        }
        return total / Double(classes.count)
    }
}

extension Metrics {
    /// sklearn's average_precision_score: Σ (R_k − R_{k−1}) · P_k over distinct score thresholds, highest first.
    public static func averagePrecision(labels: [Bool], scores: [Double]) -> Double {
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        let positives = labels.filter { $0 }.count
        guard positives > 0 else { return .nan }
        var tp = 0, fp = 0, ap = 0.0, lastRecall = 0.0
        for (k, i) in order.enumerated() {
            if labels[i] { tp += 1 } else { fp += 1 }
            if k + 1 == order.count || scores[order[k + 1]] != scores[i] {
                let recall = Double(tp) / Double(positives)
                ap += (recall - lastRecall) * Double(tp) / Double(tp + fp)
                lastRecall = recall
            }
        }
        return ap
    }
}

/// VinBigData chest X-ray: COCO bbox AP at IoU 0.4 (101-point interpolation, maxDets 100, area "all"), reproducing
/// MLE-bench's two quirks: corner boxes handed to COCO as [x, y, w, h], and the first ground-truth box (COCO id 0)
/// never counting as matched.
struct COCOBoxAPGrader: Grader {
    var engine: String { "native:mlebench/coco-ap-iou-0.4" }
    let iouThreshold = 0.4
    let maxDetections = 100

    struct Box { var image: Int; var category: Int; var score: Double; var x, y, w, h: Double; var id: Int }

    func iou(_ d: Box, _ g: Box) -> Double {
        let iw = min(d.x + d.w, g.x + g.w) - max(d.x, g.x), ih = min(d.y + d.h, g.y + g.h) - max(d.y, g.y)
        guard iw > 0, ih > 0 else { return 0 }
        let inter = iw * ih
        return inter / (d.w * d.h + g.w * g.h - inter)
    }

    func score(submission: CSVTable, answers: CSVTable) throws(GradingError) -> Double {
        guard let si = submission.columnIndex("image_id"), let sp = submission.columnIndex("PredictionString") else {
            throw .invalid("submission must have 'image_id' and 'PredictionString' columns")
        }
        let cols = ["image_id", "class_id", "x_min", "y_min", "x_max", "y_max"]
        let ac = cols.compactMap { answers.columnIndex($0) }
        guard ac.count == cols.count else { throw .unavailable("answers need the columns \(cols.joined(separator: ", "))") }
        var imageIndex = [String: Int]()
        var truth = [Box]()
        for (k, r) in answers.rows.enumerated() {
            let img = imageIndex[r[ac[0]]] ?? { let n = imageIndex.count; imageIndex[r[ac[0]]] = n; return n }()
            let v = ac.dropFirst().map { parseFloat(trimmedCell(r[$0])) ?? .nan }
            truth.append(Box(image: img, category: Int(v[0]), score: 1, x: v[1], y: v[2], w: v[3], h: v[4], id: k))
        }
        let subImages = Set(submission.rows.map { $0[si] })
        guard subImages == Set(imageIndex.keys) else {
            throw .invalid("the set of image_ids in the submission must match the answers' (\(subImages.subtracting(imageIndex.keys).count) unexpected, \(Set(imageIndex.keys).subtracting(subImages).count) missing)")
        }
        var detections = [Box]()
        let preds = PandasColumn(submission, sp)
        for (k, r) in submission.rows.enumerated() {
            let t = words(preds.text(k))
            guard t.count % 6 == 0 else { throw .invalid("PredictionString for image '\(r[si])' has \(t.count) values; it must be groups of 'class_id confidence x_min y_min x_max y_max'") }
            for j in stride(from: 0, to: t.count, by: 6) {
                var v = [Double]()
                for q in 0..<6 {
                    guard let x = parseFloat(String(t[j + q])) else { throw .invalid("could not read '\(t[j + q])' in the PredictionString of image '\(r[si])' as a number") }
                    v.append(x)
                }
                detections.append(Box(image: imageIndex[r[si]]!, category: Int(v[0]), score: v[1], x: v[2], y: v[3], w: v[4], h: v[5],
                                      id: detections.count + 1))
            }
        }
        let categories = Set(truth.map(\.category)).sorted()
        let gtByKey = Dictionary(grouping: truth) { $0.category * 1_000_000 + $0.image }
        let dtByKey = Dictionary(grouping: detections) { $0.category * 1_000_000 + $0.image }
        let recallThresholds = (0...100).map { $0 == 100 ? 1.0 : Double($0) * 0.01 }
        var precisions = [Double]()
        for c in categories {
            var scores = [Double](), matched = [Bool]()
            var groundTruths = 0
            for img in 0..<imageIndex.count {
                let gts = gtByKey[c * 1_000_000 + img] ?? []
                groundTruths += gts.count
                let dts = (dtByKey[c * 1_000_000 + img] ?? []).enumerated()
                    .sorted { $0.element.score != $1.element.score ? $0.element.score > $1.element.score : $0.offset < $1.offset }
                    .prefix(maxDetections).map(\.element)
                var gtMatched = [Bool](repeating: false, count: gts.count)
                for d in dts {
                    var best = min(iouThreshold, 1 - 1e-10), m: Int?
                    for (gi, g) in gts.enumerated() where !gtMatched[gi] {
                        let v = iou(d, g)
                        if v < best { continue }
                        best = v
                        m = gi
                    }
                    if let m { gtMatched[m] = true }
                    scores.append(d.score)
                    matched.append(m.map { gts[$0].id != 0 } ?? false)
                }
            }
            guard groundTruths > 0 else { continue }
            let order = scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
            var tp = 0.0, fp = 0.0
            var recall = [Double](), precision = [Double]()
            for i in order {
                if matched[i] { tp += 1 } else { fp += 1 }
                recall.append(tp / Double(groundTruths))
                precision.append(tp / (tp + fp + Double.ulpOfOne))
            }
            if precision.count > 1 { for i in stride(from: precision.count - 1, to: 0, by: -1) where precision[i] > precision[i - 1] { precision[i - 1] = precision[i] } }
            for r in recallThresholds {
                let pi = recall.firstIndex { $0 >= r } ?? recall.count
                precisions.append(pi < precision.count ? precision[pi] : 0)
            }
        }
        guard !precisions.isEmpty else { throw .unavailable("the answers hold no boxes") }
        return precisions.reduce(0, +) / Double(precisions.count)
    }
}

/// Lyft 3-D object detection: per sample and IoU threshold 0.50…0.95, the mean over the sample's ground-truth classes
/// of VOC all-point AP, with 3-D IoU from the rotated ground rectangles and the vertical overlap.
struct Lyft3DGrader: Grader {
    var engine: String { "native:mlebench/lyft-3d-map" }

    struct Box3D {
        var score: Double
        var x, y, z, width, length, height, yaw: Double
        var label: Substring
        var corners: [(Double, Double)] {
            let c = _cos(yaw), s = _sin(yaw), l = length / 2, w = width / 2
            return [(x + l * c + w * s, y + l * s - w * c), (x + l * c - w * s, y + l * s + w * c),
                    (x - l * c - w * s, y - l * s + w * c), (x - l * c + w * s, y - l * s - w * c)]
        }
    }

    static func boxes(_ text: String, what: String) throws(GradingError) -> [Box3D] {
        let t = words(text)
        guard t.count % 9 == 0 else { throw .invalid("\(what) has \(t.count) values; it must be groups of 9 (confidence cx cy cz width length height yaw class)") }
        var out = [Box3D]()
        for k in stride(from: 0, to: t.count, by: 9) {
            var v = [Double]()
            for j in 0..<8 {
                guard let x = parseFloat(String(t[k + j])) else { throw .invalid("could not read '\(t[k + j])' in \(what) as a number") }
                v.append(x)
            }
            out.append(Box3D(score: v[0], x: v[1], y: v[2], z: v[3], width: v[4], length: v[5], height: v[6], yaw: v[7], label: t[k + 8]))
        }
        return out
    }

    /// Area of the intersection of two convex polygons (Sutherland–Hodgman clipping, shoelace area).
    static func intersectionArea(_ subject: [(Double, Double)], _ clip: [(Double, Double)]) -> Double {
        func signedArea(_ p: [(Double, Double)]) -> Double {
            var a = 0.0
            for i in p.indices { let j = (i + 1) % p.count; a += p[i].0 * p[j].1 - p[j].0 * p[i].1 }
            return a / 2
        }
        let orientation: Double = signedArea(clip) >= 0 ? 1 : -1
        var output = subject
        for i in clip.indices {
            let a = clip[i], b = clip[(i + 1) % clip.count]
            func inside(_ p: (Double, Double)) -> Bool { orientation * ((b.0 - a.0) * (p.1 - a.1) - (b.1 - a.1) * (p.0 - a.0)) >= 0 }
            func crossing(_ p: (Double, Double), _ q: (Double, Double)) -> (Double, Double) {
                let d1 = (b.0 - a.0) * (p.1 - a.1) - (b.1 - a.1) * (p.0 - a.0)
                let d2 = (b.0 - a.0) * (q.1 - a.1) - (b.1 - a.1) * (q.0 - a.0)
                let t = d1 / (d1 - d2)
                return (p.0 + t * (q.0 - p.0), p.1 + t * (q.1 - p.1))
            }
            let input = output
            output = []
            guard !input.isEmpty else { break }
            for k in input.indices {
                let p = input[k], q = input[(k + 1) % input.count]
                if inside(q) {
                    if !inside(p) { output.append(crossing(p, q)) }
                    output.append(q)
                } else if inside(p) {
                    output.append(crossing(p, q))
                }
            }
        }
        return output.count < 3 ? 0 : abs(signedArea(output))
    }

    static func iou(_ a: Box3D, _ b: Box3D) -> Double {
        let h = max(0, min(a.z + a.height / 2, b.z + b.height / 2) - max(a.z - a.height / 2, b.z - b.height / 2))
        guard h > 0 else { return 0 }
        let inter = intersectionArea(a.corners, b.corners) * h
        let union = a.width * a.length * a.height + b.width * b.length * b.height - inter
        return union > 0 ? inter / union : 0
    }

    /// VOC all-point AP of greedy matches (the best-overlapping ground truth, if still unused, at IoU > threshold).
    static func averagePrecision(truth: [Box3D], predictions: [Box3D], threshold: Double) -> Double {
        let preds = predictions.enumerated().sorted { $0.element.score != $1.element.score ? $0.element.score > $1.element.score : $0.offset < $1.offset }
        var used = [Bool](repeating: false, count: truth.count)
        var tp = 0.0, fp = 0.0
        var recalls = [Double](), precisions = [Double]()
        for (_, p) in preds {
            var best = -Double.infinity, j = -1
            for (k, g) in truth.enumerated() { let v = iou(g, p); if v > best { best = v; j = k } }
            if best > threshold && !used[j] { used[j] = true; tp += 1 } else { fp += 1 }
            recalls.append(tp / Double(truth.count))
            precisions.append(tp / max(tp + fp, Double.ulpOfOne))
        }
        let mrec = [0.0] + recalls + [1.0]
        var mpre = [0.0] + precisions + [0.0]
        for i in stride(from: mpre.count - 1, to: 0, by: -1) { mpre[i - 1] = max(mpre[i - 1], mpre[i]) }
        var ap = 0.0
        for i in 0..<(mrec.count - 1) where mrec[i + 1] != mrec[i] { ap += (mrec[i + 1] - mrec[i]) * mpre[i + 1] }
        return ap
    }

    func score(submission: CSVTable, answers: CSVTable) throws(GradingError) -> Double {
        guard submission.columnIndex("Id") != nil, submission.columnIndex("PredictionString") != nil else {
            throw .invalid("submission must have 'Id' and 'PredictionString' columns")
        }
        let pairs = try sameRowPairs(submission, answers, idColumn: "Id")
        let rows = AlignedRows(sub: submission, ans: answers, pairs: pairs)
        let s = rows.subColumn("PredictionString"), a = try rows.ansColumn("PredictionString")
        var total = 0.0, count = 0
        for p in pairs {
            let preds = try Self.boxes(s.text(p.sub), what: "PredictionString")
            let truth = try Self.boxes(a.text(p.ans), what: "the answers")
            let classes = Set(truth.map(\.label)).sorted()
            for k in 0..<10 {
                let threshold = 0.5 + Double(k) * 0.05
                var sum = 0.0
                for c in classes {
                    let cp = preds.filter { $0.label == c }
                    if cp.isEmpty { continue }
                    sum += Self.averagePrecision(truth: truth.filter { $0.label == c }, predictions: cp, threshold: threshold)
                }
                total += classes.isEmpty ? 0 : sum / Double(classes.count)
                count += 1
            }
        }
        return total / Double(max(count, 1))
    }
}
