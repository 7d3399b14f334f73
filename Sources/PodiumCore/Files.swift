#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Size of a file in bytes; 0 when it does not exist.
public func fileSize(_ path: String) -> Int64 {
    var st = stat()
    return stat(path, &st) == 0 ? Int64(st.st_size) : 0
}

/// Writes a file so that after a crash it is either whole or absent: temporary file, fsync, rename.
public func writeFileDurably(_ path: String, _ bytes: UnsafeRawBufferPointer) throws {
    let tmp = path + ".part"
    let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw FileWriteError(path: tmp, reason: String(cString: strerror(errno))) }
    var done = 0
    while done < bytes.count {
        let w = write(fd, bytes.baseAddress! + done, bytes.count - done)
        if w < 0 {
            if errno == EINTR { continue }
            let reason = String(cString: strerror(errno))
            close(fd)
            unlink(tmp)
            throw FileWriteError(path: tmp, reason: reason)
        }
        done += w
    }
    guard fsync(fd) == 0 else { let r = String(cString: strerror(errno)); close(fd); throw FileWriteError(path: tmp, reason: r) }
    close(fd)
    guard rename(tmp, path) == 0 else { throw FileWriteError(path: path, reason: String(cString: strerror(errno))) }
}

public struct FileWriteError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "cannot write \(path): \(reason)" }
}

/// POSIX shell quoting for commands podium builds (run over SSH or by /bin/sh): plain words stay as they are.
public func shellQuote(_ s: String) -> String {
    if !s.isEmpty && s.utf8.allSatisfy({ c in
        (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || "-_./=:,@%+".utf8.contains(c)
    }) { return s }
    return "'" + s.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
}

/// Absolute path of the running executable (from /proc/self/exe), else argv[0].
public func currentExecutablePath() -> String {
    var buf = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buf, buf.count - 1)
    return n > 0 ? String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
}

/// Writes every byte to `fd` (retrying short writes and EINTR); false if the descriptor fails first.
@discardableResult
public func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
    var done = 0
    while done < bytes.count {
        let w = write(fd, bytes.baseAddress! + done, bytes.count - done)
        if w < 0 && errno == EINTR { continue }
        if w <= 0 { return false }
        done += w
    }
    return true
}

/// Copies bytes from one descriptor to another until EOF on `from` or a failure on `to`.
public func copyAll(from: Int32, to: Int32, bufferSize: Int = 1 << 16) {
    var buf = [UInt8](repeating: 0, count: bufferSize)
    while true {
        let n = buf.withUnsafeMutableBytes { read(from, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return }
        guard buf.withUnsafeBytes({ writeAll(to, UnsafeRawBufferPointer(rebasing: $0[0..<n])) }) else { return }
    }
}

extension String {
    /// This string, or `other` when it is empty.
    public func ifEmpty(_ other: String) -> String { isEmpty ? other : self }
}

/// numpy's default (linear) quantile of already sorted values; NaN for none.
public func linearQuantile(_ sorted: [Double], _ q: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let pos = q * Double(sorted.count - 1)
    let lo = Int(pos), frac = pos - Double(lo)
    return lo + 1 < sorted.count ? sorted[lo] + (sorted[lo + 1] - sorted[lo]) * frac : sorted[lo]
}
