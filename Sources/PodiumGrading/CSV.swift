#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A CSV table: a header and rows of raw cell text (RFC 4180: quotes, embedded commas and newlines, CRLF, BOM).
public struct CSVTable: Sendable {
    public var header: [String]
    public var rows: [[String]]

    public init(header: [String], rows: [[String]]) { self.header = header; self.rows = rows }

    public func columnIndex(_ name: String) -> Int? { header.firstIndex(of: name) }

    public static func read(path: String) throws(GradingError) -> CSVTable {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .invalid("cannot read \(path): no such file or not readable")
        }
        return try parse(Array(data), source: path)
    }

    public static func parse(_ bytes: [UInt8], source: String) throws(GradingError) -> CSVTable {
        var records = [[String]]()
        var field = [UInt8]()
        var record = [String]()
        var i = 0
        let n = bytes.count
        if n >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { i = 3 }
        var inQuotes = false
        var fieldStarted = false
        func endField() {
            record.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            fieldStarted = false
        }
        while i < n {
            let c = bytes[i]
            if inQuotes {
                if c == 0x22 {
                    if i + 1 < n, bytes[i + 1] == 0x22 { field.append(0x22); i += 2; continue }
                    inQuotes = false
                } else {
                    field.append(c)
                }
                i += 1
                continue
            }
            switch c {
            case 0x22 where field.isEmpty && !fieldStarted:
                inQuotes = true
                fieldStarted = true
            case 0x2C:
                endField()
            case 0x0A, 0x0D:
                endField()
                if !(record.count == 1 && record[0].isEmpty) { records.append(record) }
                record.removeAll(keepingCapacity: true)
                if c == 0x0D, i + 1 < n, bytes[i + 1] == 0x0A { i += 1 }
            case 0x00:
                throw .invalid("\(source) is not a CSV text file (it contains NUL bytes)")
            default:
                field.append(c)
                fieldStarted = true
            }
            i += 1
        }
        if inQuotes { throw .invalid("\(source): a quoted field is never closed") }
        if !field.isEmpty || !record.isEmpty {
            endField()
            if !(record.count == 1 && record[0].isEmpty) { records.append(record) }
        }
        guard let header = records.first else { throw .invalid("\(source) is empty (no header row)") }
        let rows = Array(records.dropFirst())
        for (k, r) in rows.enumerated() where r.count != header.count {
            throw .invalid("\(source) line \(k + 2): \(r.count) fields where the header has \(header.count)")
        }
        return CSVTable(header: header, rows: rows)
    }
}

/// Why a submission could not be graded. Every failure is a verdict, never a crash.
public enum GradingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The submission is invalid (the reason names the column, id or row).
    case invalid(String)
    /// podium cannot grade this competition (no grader, no answers, bad leaderboard).
    case unavailable(String)

    public var description: String {
        switch self {
        case .invalid(let s): return s
        case .unavailable(let s): return s
        }
    }
}

/// pandas' default NA tokens: cells that read as missing.
let naTokens: Set<String> = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>",
    "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
]

/// Parses a numeric cell; nil for text, NA tokens, or anything non-finite.
func finiteNumber(_ cell: String) -> Double? {
    let t = cell.trimmingCharacters(in: .whitespaces)
    guard !naTokens.contains(t), let v = Double(t), v.isFinite else { return nil }
    return v
}

