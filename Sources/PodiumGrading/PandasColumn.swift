#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One CSV column seen the way `pandas.read_csv` sees it: the dtype it infers, what `astype(str)` prints and how
/// `sort_values` orders it. MLE-bench's graders inherit these rules, so parity needs them (../shared/parity/README.md).
struct PandasColumn {
    enum Kind { case int, float, bool, object }
    let cells: [String]
    let kind: Kind

    init(_ table: CSVTable, _ index: Int) {
        self.init(cells: table.rows.map { $0[index] })
    }

    init(cells: [String]) {
        self.cells = cells
        var allInt = true, allNumber = true, allBool = true, anyNA = false, anyValue = false
        for c in cells {
            if isNAToken(c) { anyNA = true; continue }
            anyValue = true
            let t = trimmedCell(c)
            if allInt, Int(t) == nil { allInt = false }
            if allNumber, !allInt || Int(t) == nil, parseFloat(t) == nil { allNumber = false }
            if allBool, !["True", "False", "TRUE", "FALSE", "true", "false"].contains(t) { allBool = false }
            if !allNumber && !allBool { break }
        }
        if !anyValue { kind = .float }
        else if allInt && !anyNA { kind = .int }
        else if allNumber { kind = .float }
        else if allBool && !anyNA { kind = .bool }
        else { kind = .object }
    }

    var isNumeric: Bool { kind == .int || kind == .float }

    func isNA(_ i: Int) -> Bool { isNAToken(cells[i]) }

    /// The value as a Double (NaN for a missing cell); nil when the column is not numeric.
    func double(_ i: Int) -> Double? {
        switch kind {
        case .int, .float: return isNA(i) ? .nan : parseFloat(trimmedCell(cells[i]))
        case .bool: return trimmedCell(cells[i]).lowercased() == "true" ? 1 : 0
        case .object: return nil
        }
    }

    /// `Series.astype(str)` for this cell: ints without ".0", floats as Python's repr, NaN as "nan".
    func str(_ i: Int) -> String {
        let c = cells[i]
        switch kind {
        case .int: return String(Int(trimmedCell(c))!)
        case .float:
            guard !isNA(i), let v = parseFloat(trimmedCell(c)) else { return "nan" }
            return pythonRepr(v)
        case .bool: return trimmedCell(c).lowercased() == "true" ? "True" : "False"
        case .object: return isNA(i) ? "nan" : c
        }
    }

    /// `fillna("")` then the text: missing cells become the empty string.
    func text(_ i: Int) -> String { isNA(i) ? "" : (kind == .object ? cells[i] : str(i)) }

    /// Row indices in `sort_values` order (stable; numbers numerically, text by code point, NaN last).
    func sortedOrder() -> [Int] {
        if isNumeric {
            let v = cells.indices.map { double($0) ?? .nan }
            return cells.indices.sorted { a, b in
                if v[a].isNaN { return false }
                if v[b].isNaN { return true }
                return v[a] < v[b]
            }
        }
        return cells.indices.sorted { a, b in cells[a].utf8.lexicographicallyPrecedes(cells[b].utf8) }
    }
}

func isNAToken(_ cell: String) -> Bool { naTokens.contains(cell) || naTokens.contains(trimmedCell(cell)) }

func trimmedCell(_ s: String) -> String {
    guard let f = s.utf8.first, let l = s.utf8.last, f == 0x20 || l == 0x20 || f == 0x09 || l == 0x09 else { return s }
    return s.trimmingCharacters(in: .whitespaces)
}

/// Numbers pandas' C parser accepts (decimal and exponent forms, inf/nan words); not Swift's hex floats.
func parseFloat(_ t: String) -> Double? {
    guard let v = Double(t) else { return nil }
    if t.contains("x") || t.contains("X") { return nil }
    return v
}

/// Python's `repr(float)`: the shortest round-trip digits, exponent form outside [1e-4, 1e16).
func pythonRepr(_ v: Double) -> String {
    if v.isNaN { return "nan" }
    if v.isInfinite { return v < 0 ? "-inf" : "inf" }
    return v.description
}
