/// A wall-clock budget or interval in whole seconds, parsed from strings like "24h", "90s", "1h30m".
public struct BudgetDuration: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var seconds: Int

    public init(seconds: Int) { self.seconds = seconds }

    /// Parses "100h", "90s", "1h30m", "2d", "45m"; a bare number means seconds.
    public init?(parsing text: String) {
        let s = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard !s.isEmpty else { return nil }
        if let n = Int(s) { guard n > 0 else { return nil }; self.seconds = n; return }
        var total = 0
        var number = ""
        var sawUnit = false
        for ch in s {
            if ch.isASCII, ch.isNumber { number.append(ch); continue }
            guard let n = Int(number) else { return nil }
            switch ch {
            case "d": total += n * 86_400
            case "h": total += n * 3_600
            case "m": total += n * 60
            case "s": total += n
            default: return nil
            }
            number = ""
            sawUnit = true
        }
        guard number.isEmpty, sawUnit, total > 0 else { return nil }
        self.seconds = total
    }

    public var hours: Double { Double(seconds) / 3600 }

    /// Canonical short form: "24h", "1h30m", "90s" → "1m30s".
    public var description: String {
        var rest = seconds
        var out = ""
        for (unit, size) in [("h", 3_600), ("m", 60), ("s", 1)] where rest >= size {
            out += "\(rest / size)\(unit)"
            rest %= size
        }
        return out.isEmpty ? "0s" : out
    }

    public static func < (a: Self, b: Self) -> Bool { a.seconds < b.seconds }

    /// A duration in a config file needs its unit: `"24"` or `24` would be 24 seconds, where an MLE-bench user
    /// almost always means 24 hours, and would only show as runs that end at once.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let where_ = jsonPath(decoder.codingPath)
        if let n = try? c.decode(Double.self) {
            throw ConfigError(path: where_, found: "the number \(n == n.rounded() ? String(Int(n)) : String(n)) (no unit)",
                              expected: "a duration with its unit", fix: Self.unitFix(n == n.rounded() ? String(Int(n)) : String(n)))
        }
        let text = try c.decode(String.self)
        if Self.isBareNumber(text) {
            throw ConfigError(path: where_, found: "'\(text)' (no unit)", expected: "a duration with its unit", fix: Self.unitFix(text))
        }
        guard let d = BudgetDuration(parsing: text) else {
            throw ConfigError(path: where_, found: "'\(text)'", expected: "a duration such as \"24h\", \"30m\", \"90s\" or \"1h30m\"")
        }
        self = d
    }

    /// "24", " 90 ": a number with no unit.
    public static func isBareNumber(_ text: String) -> Bool {
        let t = text.trimmingCharacters(in: .whitespaces)
        return !t.isEmpty && t.allSatisfy { $0.isASCII && ($0.isNumber || $0 == ".") }
    }

    /// The fix for a duration written without its unit.
    public static func unitFix(_ n: String) -> String {
        "write the unit: \"\(n)h\" for \(n) hours, \"\(n)m\" for minutes or \"\(n)s\" for seconds (for example 24h, 30m or 90s)"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

extension String {
    public func trimmingCharacters(in set: CharacterSetLite) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}

/// The few character classes podium trims, without pulling in Foundation's CharacterSet.
public struct CharacterSetLite: Sendable {
    let contains: @Sendable (Character) -> Bool
    func contains(_ c: Character) -> Bool { contains(c) }
    public static let whitespaces = CharacterSetLite { $0 == " " || $0 == "\t" }
    public static let whitespacesAndNewlines = CharacterSetLite { $0.isWhitespace }
}

/// Parses a memory size such as "16g", "512m", "2GiB" into bytes.
public func parseByteSize(_ text: String) -> Int64? {
    let s = text.trimmingCharacters(in: .whitespaces).lowercased()
    var digits = ""
    var rest = Substring(s)
    while let c = rest.first, c.isNumber || c == "." { digits.append(c); rest.removeFirst() }
    guard let value = Double(digits), value >= 0 else { return nil }
    let unit = rest.trimmingCharacters(in: .whitespaces)
    let mult: Double
    switch unit {
    case "", "b": mult = 1
    case "k", "kb", "kib": mult = 1024
    case "m", "mb", "mib": mult = 1024 * 1024
    case "g", "gb", "gib": mult = 1024 * 1024 * 1024
    case "t", "tb", "tib": mult = 1024 * 1024 * 1024 * 1024
    default: return nil
    }
    return Int64(value * mult)
}

extension Substring {
    public func trimmingCharacters(in set: CharacterSetLite) -> String { String(self).trimmingCharacters(in: set) }
}
