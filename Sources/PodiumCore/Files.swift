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
