/// POSIX shell quoting for commands podium builds (run over SSH or by /bin/sh): plain words stay as they are.
public func shellQuote(_ s: String) -> String {
    if !s.isEmpty && s.utf8.allSatisfy({ c in
        (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || "-_./=:,@%+".utf8.contains(c)
    }) { return s }
    return "'" + s.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
}

extension String {
    /// This string, or `other` when it is empty.
    public func ifEmpty(_ other: String) -> String { isEmpty ? other : self }
}

/// A byte count for people: "512 B", "3.4 MB", "1.25 TB" (decimal units, as dataset sizes and disks are given).
public func formatBytes(_ n: Int64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB"]
    var v = Double(n), i = 0
    while v >= 1000 && i < units.count - 1 { v /= 1000; i += 1 }
    if i == 0 { return "\(n) B" }
    let digits = v >= 100 ? 0 : v >= 10 ? 1 : 2
    let scale = pow10(digits)
    let rounded = (v * scale).rounded() / scale
    let text = rounded == rounded.rounded() ? String(Int64(rounded)) : String(rounded)
    return "\(text) \(units[i])"
}

private func pow10(_ n: Int) -> Double { n == 0 ? 1 : n == 1 ? 10 : 100 }

/// Memory as every command prints it: binary GiB with one decimal ("23.5 GiB"); sizes in config files keep their
/// own units ("24g").
public func formatMemory(_ bytes: Int64) -> String {
    let tenths = (Double(bytes) / Double(1 << 30) * 10).rounded() / 10
    return (tenths == tenths.rounded() ? String(Int64(tenths)) : String(tenths)) + " GiB"
}
