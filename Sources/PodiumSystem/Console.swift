#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Writes a line to standard error (progress and diagnostics never mix with JSON on stdout).
public func printError(_ s: String) {
    var line = s.hasSuffix("\n") ? s : s + "\n"
    line.withUTF8 { buf in _ = write(2, buf.baseAddress, buf.count) }
}

/// True when standard output is a terminal (progress redraws in place; otherwise plain lines).
public var stdoutIsTTY: Bool { isatty(1) == 1 }
public var stderrIsTTY: Bool { isatty(2) == 1 }

/// Writes to standard error without adding a newline.
public func printErrorRaw(_ s: String) {
    var text = s
    text.withUTF8 { buf in _ = write(2, buf.baseAddress, buf.count) }
}
