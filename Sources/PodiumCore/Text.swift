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
