/// A configuration or usage error: names where (file, JSON path or flag), what was found, what is expected.
/// The executables map it to exit code 2.
public struct ConfigError: Error, Sendable, CustomStringConvertible, Equatable {
    public var file: String?
    public var path: String?
    public var found: String?
    public var expected: String
    public var fix: String?

    public init(file: String? = nil, path: String? = nil, found: String? = nil, expected: String, fix: String? = nil) {
        self.file = file
        self.path = path
        self.found = found
        self.expected = expected
        self.fix = fix
    }

    public var description: String {
        var where_ = [String]()
        if let file { where_.append(file) }
        if let path { where_.append(path) }
        var s = where_.isEmpty ? "error: " : "error: \(where_.joined(separator: ": ")): "
        if let found { s += "found \(found); " }
        s += expected
        if let fix { s += " — \(fix)" }
        return s
    }
}

/// Levenshtein distance, for "did you mean" suggestions.
public func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.utf8), b = Array(b.utf8)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var prev = Array(0...b.count)
    var cur = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        cur[0] = i
        for j in 1...b.count {
            cur[j] = Swift.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&prev, &cur)
    }
    return prev[b.count]
}

/// The candidate closest to `word`, if it is close enough to be a plausible typo.
public func nearest(_ word: String, in candidates: some Sequence<String>) -> String? {
    var best: (String, Int)?
    for c in candidates {
        let d = editDistance(word.lowercased(), c.lowercased())
        if best == nil || d < best!.1 { best = (c, d) }
    }
    guard let (c, d) = best, d <= Swift.max(2, word.count / 3) else { return nil }
    return c
}
