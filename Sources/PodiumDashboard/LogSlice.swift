#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A byte range of an agent log, read with one `pread` (never the whole file: a multi-GB log opens as fast as a small
/// one), cut to whole UTF-8 characters so a character split by the range is neither garbled nor lost.
public struct LogSlice: Sendable, Equatable {
    /// Where the text starts in the file, and where the next read should start (`next - offset` bytes were consumed).
    public var offset: Int64
    public var next: Int64
    /// The file's size when it was read.
    public var size: Int64
    public var text: String
    /// Bytes read from the file for this slice (what the server did, for tests and the benchmark).
    public var bytesRead: Int

    /// The largest range one request reads.
    public static let maxLength = 1 << 20

    public enum Failure: Error, Equatable { case missing, unreadable(Int32) }

    /// `length` bytes from `offset` (clamped to the file and to `maxLength`).
    public static func read(path: String, offset: Int64, length: Int) throws(Failure) -> LogSlice {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw errno == ENOENT ? .missing : .unreadable(errno) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .unreadable(errno) }
        let size = Int64(st.st_size)
        let start = min(max(0, offset), size)
        // At least 8 bytes (when the file has them): after skipping at most 3 continuation bytes, a whole character of at
        // most 4 bytes is left, so a reader always moves forward.
        let want = Int(min(Int64(max(8, min(length, maxLength))), size - start))
        var buffer = [UInt8](repeating: 0, count: want)
        var got = 0
        while got < want {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + got, want - got, off_t(start) + off_t(got)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            got += n
        }
        buffer.removeSubrange(got...)
        // Drop the rest of a character cut at the start (continuation bytes), and leave a character cut at the end for
        // the next read (a growing log completes it). Invalid bytes are shown as U+FFFD.
        var head = 0
        if start > 0 { while head < min(3, buffer.count) && buffer[head] & 0xC0 == 0x80 { head += 1 } }
        let end = head + Self.completePrefix(buffer[head...])
        let text = String(decoding: buffer[head..<end], as: UTF8.self)
        return LogSlice(offset: start + Int64(head), next: start + Int64(end), size: size, text: text, bytesRead: got)
    }

    /// The last `length` bytes.
    public static func tail(path: String, length: Int) throws(Failure) -> LogSlice {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw errno == ENOENT ? .missing : .unreadable(errno) }
        var st = stat()
        let ok = fstat(fd, &st) == 0
        close(fd)
        guard ok else { throw .unreadable(errno) }
        return try read(path: path, offset: max(0, Int64(st.st_size) - Int64(length)), length: length)
    }

    /// How many leading bytes form whole UTF-8 sequences (an incomplete sequence at the very end is left out).
    static func completePrefix(_ bytes: ArraySlice<UInt8>) -> Int {
        let n = bytes.count
        guard n > 0 else { return 0 }
        // Look back at most 3 bytes for the lead byte of the last sequence.
        var i = bytes.endIndex - 1
        var back = 0
        while back < 3 && i > bytes.startIndex && bytes[i] & 0xC0 == 0x80 { i -= 1; back += 1 }
        let lead = bytes[i]
        let need: Int
        switch lead {
        case 0x00..<0x80: need = 1
        case 0xC0..<0xE0: need = 2
        case 0xE0..<0xF0: need = 3
        case 0xF0..<0xF8: need = 4
        default: return n  // not a lead byte: invalid bytes, shown as U+FFFD
        }
        let have = bytes.endIndex - i
        return have >= need ? n : n - have
    }
}
