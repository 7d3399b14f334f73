#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A binary mask as sorted, disjoint half-open pixel runs — RLE masks are compared without materialising pixels.
struct PixelRuns: Sendable {
    var runs: [(start: Int, end: Int)]
    var count: Int { runs.reduce(0) { $0 + $1.end - $1.start } }

    static let empty = PixelRuns(runs: [])

    /// Decodes Kaggle RLE: space-separated 1-indexed `start length` pairs; starts ascending and positive, runs not
    /// overlapping (MLE-bench asserts both). Runs past the image end are cut there, as numpy slicing does.
    static func decode(_ text: String, pixels: Int) throws(GradingError) -> PixelRuns {
        let tokens = words(text)
        guard tokens.count % 2 == 0 else { throw .invalid("RLE '\(text.prefix(40))…' has an odd number of values (it must be start length pairs)") }
        var runs = [(start: Int, end: Int)]()
        runs.reserveCapacity(tokens.count / 2)
        var k = 0
        var previousStart = 0, previousEnd = 0
        while k < tokens.count {
            guard let start = Int(tokens[k]), let length = Int(tokens[k + 1]) else {
                throw .invalid("RLE holds '\(tokens[k]) \(tokens[k + 1])'; every value must be an integer")
            }
            guard start >= 1 else { throw .invalid("RLE start \(start) must be positive (starts are 1-indexed)") }
            let s = start - 1
            if k > 0 {
                guard s > previousStart else { throw .invalid("the pairs in the RLE string must be sorted (start \(start) after \(previousStart + 1))") }
                guard s >= previousEnd else { throw .invalid("RLE runs must not overlap (start \(start) inside the previous run)") }
            }
            previousStart = s
            previousEnd = s + max(length, 0)
            let e = min(s + max(length, 0), pixels)
            if s < e { runs.append((s, e)) }
            k += 2
        }
        return PixelRuns(runs: runs)
    }

    func intersectionCount(_ other: PixelRuns) -> Int {
        var i = 0, j = 0, total = 0
        let a = runs, b = other.runs
        while i < a.count && j < b.count {
            let lo = max(a[i].start, b[j].start), hi = min(a[i].end, b[j].end)
            if lo < hi { total += hi - lo }
            if a[i].end < b[j].end { i += 1 } else { j += 1 }
        }
        return total
    }
}

extension MLEBenchGraders {
    static func maskGraders() -> [String: any Grader] {
        var g = [String: any Grader]()

        g["hubmap-kidney-segmentation"] = AlignedGrader(
            name: "mean-dice", idColumn: "id", columns: ["predicted"]
        ) { rows throws(GradingError) in
            let s = rows.subColumn("predicted"), truth = try rows.ansColumn("encoding")
            let h = try rows.ansColumn("height_pixels"), w = try rows.ansColumn("width_pixels")
            var total = 0.0
            for p in rows.pairs {
                let n = Int(h.double(p.ans) ?? 0) * Int(w.double(p.ans) ?? 0)
                let pred = s.isNA(p.sub) ? PixelRuns.empty : try PixelRuns.decode(s.cells[p.sub], pixels: n)
                let t = try PixelRuns.decode(truth.text(p.ans), pixels: n)
                let sizes = pred.count + t.count
                total += sizes == 0 ? 1 : 2 * Double(pred.intersectionCount(t)) / Double(sizes)
            }
            return total / Double(max(rows.pairs.count, 1))
        }

        g["google-research-identify-contrails-reduce-global-warming"] = AlignedGrader(
            name: "global-dice", idColumn: "record_id", columns: ["encoded_pixels"]
        ) { rows throws(GradingError) in
            let s = rows.subColumn("encoded_pixels"), truth = try rows.ansColumn("encoded_pixels")
            let h = try rows.ansColumn("height"), w = try rows.ansColumn("width")
            var inter = 0, sizes = 0
            for p in rows.pairs {
                guard !s.isNA(p.sub) else { throw .invalid("submission 'encoded_pixels' is empty for a record; write '-' for an empty mask") }
                let n = Int(h.double(p.ans) ?? 0) * Int(w.double(p.ans) ?? 0)
                func mask(_ c: String) throws(GradingError) -> PixelRuns { c == "-" ? .empty : try PixelRuns.decode(c, pixels: n) }
                let pred = try mask(s.cells[p.sub]), t = try mask(truth.text(p.ans))
                inter += pred.intersectionCount(t)
                sizes += pred.count + t.count
            }
            return sizes == 0 ? .nan : 2 * Double(inter) / Double(sizes)
        }

        g["tgs-salt-identification-challenge"] = AlignedGrader(
            name: "mean-precision-iou-thresholds", idColumn: "id", columns: ["rle_mask"], exactColumns: ["id", "rle_mask"]
        ) { rows throws(GradingError) in
            let s = rows.subColumn("rle_mask"), truth = try rows.ansColumn("rle_mask")
            let n = 101 * 101
            var total = 0.0
            for p in rows.pairs {
                let pred = try PixelRuns.decode(s.text(p.sub), pixels: n), t = try PixelRuns.decode(truth.text(p.ans), pixels: n)
                let pc = pred.count, tc = t.count
                if tc == 0 { total += pc == 0 ? 1 : 0; continue }
                if pc == 0 { continue }
                let i = pred.intersectionCount(t)
                let iou = Double(i) / Double(pc + tc - i)
                var hits = 0
                for k in 0..<10 where iou > 0.5 + Double(k) * 0.05 { hits += 1 }
                total += Double(hits) / 10
            }
            return total / Double(max(rows.pairs.count, 1))
        }
        g["vesuvius-challenge-ink-detection"] = InkDetectionGrader()
        g["uw-madison-gi-tract-image-segmentation"] = GITractGrader()
        return g
    }
}

/// Vesuvius ink detection: per fragment F0.5 over all pixels; rows paired by position, ids asserted equal per row.
struct InkDetectionGrader: Grader {
    var engine: String { "native:mlebench/fbeta-0.5-pixels" }

    func score(submission: CSVTable, answers: CSVTable) throws(GradingError) -> Double {
        guard submission.header.count == 2, submission.columnIndex("Id") != nil, submission.columnIndex("Predicted") != nil else {
            throw .invalid("submission must have exactly the columns Id, Predicted (it has: \(submission.header.joined(separator: ", ")))")
        }
        guard submission.rows.count == answers.rows.count else {
            throw .invalid("expected \(answers.rows.count) rows in the submission, got \(submission.rows.count)")
        }
        let sID = PandasColumn(submission, submission.columnIndex("Id")!), sPred = PandasColumn(submission, submission.columnIndex("Predicted")!)
        guard let ai = answers.columnIndex("Id"), let ap = answers.columnIndex("Predicted"),
              let aw = answers.columnIndex("width"), let ah = answers.columnIndex("height") else {
            throw .unavailable("answers need Id, Predicted, width and height columns")
        }
        let aID = PandasColumn(answers, ai), aW = PandasColumn(answers, aw), aH = PandasColumn(answers, ah)
        var total = 0.0
        for k in answers.rows.indices {
            guard sID.str(k) == aID.str(k) else { throw .invalid("row \(k + 1): Id '\(sID.cells[k])' where the answers have '\(aID.cells[k])' (rows are paired by position)") }
            guard !sPred.isNA(k), sPred.kind == .object else { throw .invalid("row \(k + 1): 'Predicted' must be a non-empty RLE string") }
            let n = Int(aW.double(k) ?? 0) * Int(aH.double(k) ?? 0)
            let pred = try PixelRuns.decode(sPred.cells[k], pixels: n), truth = try PixelRuns.decode(answers.rows[k][ap], pixels: n)
            let tp = Double(pred.intersectionCount(truth)), fp = Double(pred.count) - tp, fn = Double(truth.count) - tp
            let b2 = 0.25
            let den = (1 + b2) * tp + b2 * fn + fp
            total += den == 0 ? 0 : (1 + b2) * tp / den
        }
        return total / Double(max(answers.rows.count, 1))
    }
}

/// UW-Madison GI tract: 0.4 × mean per-row Dice (rows paired by position) + 0.6 × (1 − normalised 3-D Hausdorff
/// distance per case-day volume).
struct GITractGrader: Grader {
    var engine: String { "native:mlebench/dice-hausdorff-combo" }

    func score(submission: CSVTable, answers: CSVTable) throws(GradingError) -> Double {
        for c in ["id", "class", "predicted"] where submission.columnIndex(c) == nil {
            throw .invalid("submission must have the columns id, class, predicted")
        }
        guard let ai = answers.columnIndex("id"), let ap = answers.columnIndex("predicted"),
              let ah = answers.columnIndex("image_height"), let aw = answers.columnIndex("image_width") else {
            throw .unavailable("answers need id, predicted, image_height and image_width columns")
        }
        let si = submission.columnIndex("id")!, sp = submission.columnIndex("predicted")!
        let aH = PandasColumn(answers, ah), aW = PandasColumn(answers, aw)
        func size(_ k: Int) -> (h: Int, w: Int) { (Int(aH.double(k) ?? 0), Int(aW.double(k) ?? 0)) }
        func decode(_ cell: String, _ n: Int) throws(GradingError) -> PixelRuns { isNAToken(cell) ? .empty : try PixelRuns.decode(cell, pixels: n) }

        // Dice: the i-th submission row against the i-th answers row, decoded with the answers' image size.
        var diceSum = 0.0, diceCount = 0
        var subMasks = [PixelRuns](), ansMasks = [PixelRuns]()
        for k in 0..<min(submission.rows.count, answers.rows.count) {
            let (h, w) = size(k)
            let p = try decode(submission.rows[k][sp], h * w), t = try decode(answers.rows[k][ap], h * w)
            subMasks.append(p)
            ansMasks.append(t)
            let sizes = p.count + t.count
            if sizes > 0 { diceSum += 2 * Double(p.intersectionCount(t)) / Double(sizes); diceCount += 1 }
        }
        for k in subMasks.count..<submission.rows.count { _ = try decode(submission.rows[k][sp], 0) }
        for k in ansMasks.count..<answers.rows.count { let (h, w) = size(k); ansMasks.append(try decode(answers.rows[k][ap], h * w)) }
        let dice = diceCount == 0 ? Double.nan : diceSum / Double(diceCount)

        // Hausdorff: each side's rows grouped into case-day volumes (slices in id order, classes OR-ed).
        let sizeByID = Dictionary(answers.rows.indices.map { (answers.rows[$0][ai], size($0)) }, uniquingKeysWith: { a, _ in a })
        func volumes(_ table: CSVTable, idColumn: Int, masks: [PixelRuns]) -> [String: [(slice: String, pixels: Set<Int>, h: Int, w: Int)]] {
            var bySlice = [String: Set<Int>]()
            for (k, m) in masks.enumerated() {
                var s = bySlice[table.rows[k][idColumn], default: []]
                for r in m.runs { s.formUnion(r.start..<r.end) }
                bySlice[table.rows[k][idColumn]] = s
            }
            var out = [String: [(slice: String, pixels: Set<Int>, h: Int, w: Int)]]()
            for (id, pixels) in bySlice {
                let parts = id.split(separator: "_slice_", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2 else { continue }
                let (h, w) = sizeByID[id] ?? (0, 0)
                out[String(parts[0]), default: []].append((id, pixels, h, w))
            }
            for key in out.keys { out[key]!.sort { $0.slice.utf8.lexicographicallyPrecedes($1.slice.utf8) } }
            return out
        }
        let predVolumes = volumes(submission, idColumn: si, masks: subMasks)
        let truthVolumes = volumes(answers, idColumn: ai, masks: ansMasks)
        var hdSum = 0.0, hdCount = 0
        for (caseDay, truth) in truthVolumes {
            // The prediction volume has the answers' slices; a slice the submission lacks is empty.
            let predSlices = Dictionary((predVolumes[caseDay] ?? []).map { ($0.slice, $0.pixels) }, uniquingKeysWith: { a, _ in a })
            let pred = truth.map { (slice: $0.slice, pixels: predSlices[$0.slice] ?? [], h: $0.h, w: $0.w) }
            func coords(_ v: [(slice: String, pixels: Set<Int>, h: Int, w: Int)]) -> [(Int, Int, Int)] {
                var out = [(Int, Int, Int)]()
                for (z, s) in v.enumerated() { for p in s.pixels.sorted() { out.append((z, p % max(s.h, 1), p / max(s.h, 1))) } }
                return out
            }
            let p = coords(pred), t = coords(truth)
            if p.isEmpty && t.isEmpty { continue }
            hdCount += 1
            if p.isEmpty || t.isEmpty || p.count > 10 * t.count { hdSum += 1; continue }
            if zip(pred, truth).allSatisfy({ $0.pixels == $1.pixels }) { continue }
            let shape = (Double(pred.count), Double(pred.first?.h ?? 1), Double(pred.first?.w ?? 1))
            let a = p.map { (Double($0.0) / shape.0, Double($0.1) / shape.1, Double($0.2) / shape.2) }
            let b = t.map { (Double($0.0) / shape.0, Double($0.1) / shape.1, Double($0.2) / shape.2) }
            hdSum += max(directedHausdorff(a, b), directedHausdorff(b, a)) / (3.0).squareRoot()
        }
        let hausdorff = hdCount == 0 ? Double.nan : hdSum / Double(hdCount)
        return 0.4 * dice + 0.6 * (1 - hausdorff)
    }

    /// max over a of min over b of |a − b| (exact; the inner loop stops once it cannot raise the maximum).
    func directedHausdorff(_ a: [(Double, Double, Double)], _ b: [(Double, Double, Double)]) -> Double {
        var cmax = 0.0
        for x in a {
            var cmin = Double.infinity
            for y in b {
                let d = (x.0 - y.0) * (x.0 - y.0) + (x.1 - y.1) * (x.1 - y.1) + (x.2 - y.2) * (x.2 - y.2)
                if d < cmin { cmin = d; if cmin < cmax { break } }
            }
            if cmin > cmax { cmax = cmin }
        }
        return cmax.squareRoot()
    }
}
