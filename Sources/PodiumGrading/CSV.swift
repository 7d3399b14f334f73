#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import PodiumSystem

/// A CSV table: a header and rows of cell text (RFC 4180: quotes, embedded commas and newlines, CRLF, BOM).
/// A parsed file keeps its bytes once plus each field's byte range (about 2–3× the file size in memory, not 10×), and
/// makes a cell's String only when a grader reads it.
public struct CSVTable: Sendable {
    public var header: [String]
    public var rows: Rows

    public init(header: [String], rows: [[String]]) {
        self.header = header
        self.rows = Rows(storage: .materialized(rows), width: header.count)
    }

    init(header: [String], packed: PackedCells) {
        self.header = header
        rows = Rows(storage: .packed(packed), width: header.count)
    }

    public func columnIndex(_ name: String) -> Int? { header.firstIndex(of: name) }

    /// Reads a file whole (one read into one buffer); a missing or unreadable file is an invalid submission.
    public static func read(path: String) throws(GradingError) -> CSVTable {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .invalid("cannot read \(path): no such file or not readable") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .invalid("cannot read \(path): \(SystemError("fstat", errno: errno).reason)") }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        var done = 0
        while done < bytes.count {
            guard let n = try? bytes.withUnsafeMutableBytes({ b in try retryingEINTR("read") { Glibc.read(fd, b.baseAddress! + done, b.count - done) } }),
                  n > 0 else { break }
            done += n
        }
        if done < bytes.count { bytes.removeSubrange(done...) }
        return try parse(bytes, source: path)
    }

    public static func parse(_ bytes: [UInt8], source: String) throws(GradingError) -> CSVTable {
        var cells = PackedCells(bytes: bytes)
        let n = bytes.count
        var i = 0
        if n >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { i = 3 }
        var header: [String]?
        var width = 0
        var line = 1
        // The fields of the record being read: (start, end, needs unescaping of doubled quotes).
        var record = [(Int, Int, Bool)]()
        record.reserveCapacity(16)
        func finishRecord() throws(GradingError) {
            defer { record.removeAll(keepingCapacity: true) }
            if record.count == 1 && record[0].0 == record[0].1 { return }  // blank line
            if header == nil {
                header = record.map { PackedCells.string(bytes, $0.0, $0.1, $0.2) }
                width = record.count
                return
            }
            guard record.count == width else {
                throw .invalid("\(source) line \(line): \(record.count) fields where the header has \(width)")
            }
            for f in record { cells.append(start: f.0, end: f.1, escaped: f.2) }
        }
        try bytes.withUnsafeBufferPointer { (buf: UnsafeBufferPointer<UInt8>) throws(GradingError) in
            while i < n {
                let c = buf[i]
                if c == 0x22 {
                    // A quoted field: up to the closing quote ("" is an escaped quote).
                    let start = i + 1
                    var j = start
                    var escaped = false
                    while true {
                        guard j < n else { throw GradingError.invalid("\(source): a quoted field is never closed") }
                        if buf[j] == 0x22 {
                            if j + 1 < n, buf[j + 1] == 0x22 { escaped = true; j += 2; continue }
                            break
                        }
                        if buf[j] == 0x0A { line += 1 }
                        if buf[j] == 0 { throw GradingError.invalid("\(source) is not a CSV text file (it contains NUL bytes)") }
                        j += 1
                    }
                    let end = j
                    j += 1
                    // Text after the closing quote belongs to the field (lenient, like pandas).
                    var tailEnd = j
                    while tailEnd < n, buf[tailEnd] != 0x2C, buf[tailEnd] != 0x0A, buf[tailEnd] != 0x0D { tailEnd += 1 }
                    if tailEnd > j {
                        // Rare: `"ab"cd` — keep it whole, unquoted.
                        record.append((start - 1, tailEnd, false))
                    } else {
                        record.append((start, end, escaped))
                    }
                    i = tailEnd
                } else {
                    var j = i
                    while j < n {
                        let d = buf[j]
                        if d == 0x2C || d == 0x0A || d == 0x0D { break }
                        if d == 0 { throw GradingError.invalid("\(source) is not a CSV text file (it contains NUL bytes)") }
                        j += 1
                    }
                    record.append((i, j, false))
                    i = j
                }
                // After a field: a comma (next field), a line end (next record) or the end of the file.
                if i < n, buf[i] == 0x2C {
                    i += 1
                    if i == n { record.append((n, n, false)) }
                    continue
                }
                if i < n, buf[i] == 0x0D { i += 1 }
                if i < n, buf[i] == 0x0A { i += 1 }
                try finishRecord()
                line += 1
            }
        }
        if !record.isEmpty { try finishRecord() }
        guard let header else { throw .invalid("\(source) is empty (no header row)") }
        return CSVTable(header: header, packed: cells)
    }

    /// The rows: a random-access view whose cells become Strings when read.
    public struct Rows: RandomAccessCollection, Sendable {
        enum Storage: Sendable {
            case materialized([[String]])
            case packed(PackedCells)
        }
        let storage: Storage
        let width: Int

        public var startIndex: Int { 0 }
        public var endIndex: Int {
            switch storage {
            case .materialized(let r): return r.count
            case .packed(let p): return width == 0 ? 0 : p.count / width
            }
        }
        public subscript(i: Int) -> Row { Row(rows: self, index: i) }
    }

    /// One row; `row[c]` is the text of column c.
    public struct Row: RandomAccessCollection, Sendable {
        let rows: Rows
        let index: Int
        public var startIndex: Int { 0 }
        public var endIndex: Int { rows.width }
        public subscript(c: Int) -> String {
            switch rows.storage {
            case .materialized(let r): return r[index][c]
            case .packed(let p): return p.string(at: index * rows.width + c)
            }
        }
    }
}

/// Field byte ranges over one shared buffer. A field whose end is stored negated holds doubled quotes to unescape.
struct PackedCells: @unchecked Sendable {
    final class Buffer: @unchecked Sendable {
        let bytes: [UInt8]
        init(_ b: [UInt8]) { bytes = b }
    }
    let buffer: Buffer
    var starts = [Int]()
    var ends = [Int]()
    var count: Int { starts.count }

    init(bytes: [UInt8]) { buffer = Buffer(bytes) }

    mutating func append(start: Int, end: Int, escaped: Bool) {
        starts.append(start)
        ends.append(escaped ? -end - 1 : end)
    }

    func string(at k: Int) -> String {
        let e = ends[k]
        return Self.string(buffer.bytes, starts[k], e < 0 ? -e - 1 : e, e < 0)
    }

    static func string(_ bytes: [UInt8], _ start: Int, _ end: Int, _ escaped: Bool) -> String {
        guard start < end else { return "" }
        if !escaped { return bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[start..<end]), as: UTF8.self) } }
        var out = [UInt8]()
        out.reserveCapacity(end - start)
        var k = start
        while k < end {
            out.append(bytes[k])
            k += bytes[k] == 0x22 && k + 1 < end && bytes[k + 1] == 0x22 ? 2 : 1
        }
        return String(decoding: out, as: UTF8.self)
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
    let t = trimmedCell(cell)
    guard !naTokens.contains(t), let v = Double(t), v.isFinite else { return nil }
    return v
}

