#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Size of a file in bytes; 0 when it does not exist.
public func fileSize(_ path: String) -> Int64 {
    var st = stat()
    return stat(path, &st) == 0 ? Int64(st.st_size) : 0
}

/// Writes a file so that after a crash it is either whole or absent: temporary file, fsync, rename.
public func writeFileDurably(_ path: String, _ bytes: UnsafeRawBufferPointer) throws(SystemError) {
    let tmp = path + ".part"
    let fd = try retryingEINTR("open", path: tmp) { open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
    do {
        var done = 0
        while done < bytes.count {
            done += try retryingEINTR("write", path: tmp) { write(fd, bytes.baseAddress! + done, bytes.count - done) }
        }
        try retryingEINTR("fsync", path: tmp) { fsync(fd) }
    } catch {
        close(fd)
        unlink(tmp)
        throw error
    }
    close(fd)
    try retryingEINTR("rename", path: path) { rename(tmp, path) }
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
        guard let w = try? retryingEINTR("write", { write(fd, bytes.baseAddress! + done, bytes.count - done) }), w > 0 else { return false }
        done += w
    }
    return true
}

/// Copies bytes from one descriptor to another until EOF on `from` or a failure on `to`.
public func copyAll(from: Int32, to: Int32, bufferSize: Int = 1 << 16) {
    var buf = [UInt8](repeating: 0, count: bufferSize)
    while true {
        guard let n = try? buf.withUnsafeMutableBytes({ b in try retryingEINTR("read") { read(from, b.baseAddress, b.count) } }), n > 0 else { return }
        guard buf.withUnsafeBytes({ writeAll(to, UnsafeRawBufferPointer(rebasing: $0[0..<n])) }) else { return }
    }
}
