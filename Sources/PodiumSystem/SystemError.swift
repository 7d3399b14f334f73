#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// An OS call that failed: which call, on what, and the errno (typed, so callers can tell ENOSPC from EACCES).
public struct SystemError: Error, Equatable, Sendable, CustomStringConvertible {
    public var call: String
    public var path: String?
    public var errno: Int32

    public init(_ call: String, path: String? = nil, errno: Int32) { self.call = call; self.path = path; self.errno = errno }

    /// strerror's words: "No space left on device".
    public var reason: String { Self.text(errno) }
    /// strerror's words for an errno value: the one place podium calls strerror.
    public static func text(_ code: Int32) -> String { String(cString: strerror(code)) }
    public var description: String { "\(call)\(path.map { " \($0)" } ?? ""): \(reason)" }
    public var isNoSpace: Bool { errno == ENOSPC || errno == EDQUOT }
}

/// Calls `body` (a C call returning -1 and setting errno on failure) until it is not interrupted by a signal.
/// Returns its result, or throws `SystemError` naming `call` and `path`.
@discardableResult
public func retryingEINTR<T: BinaryInteger>(_ call: String, path: String? = nil, _ body: () -> T) throws(SystemError) -> T {
    while true {
        let r = body()
        if r >= 0 { return r }
        let e = Glibc.errno
        if e == EINTR { continue }
        throw SystemError(call, path: path, errno: e)
    }
}

/// Writes all of `bytes` at `offset` of `fd` (pwrite until done, EINTR retried).
public func pwriteAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int64, path: String) throws(SystemError) {
    var done = 0
    while done < bytes.count {
        done += try retryingEINTR("pwrite", path: path) {
            pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
        }
    }
}
