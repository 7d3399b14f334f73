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

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let n = try? c.decode(Int.self), n > 0 { self.seconds = n; return }
        let text = try c.decode(String.self)
        guard let d = BudgetDuration(parsing: text) else {
            throw DecodingError.dataCorruptedError(
                in: c, debugDescription: "'\(text)' is not a duration; write e.g. \"24h\", \"90s\" or \"1h30m\"")
        }
        self = d
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
