#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import PodiumCore

/// File transfer over exec channels (`cat`/`tail -c` on the node, like `ssh … cat`), resumable from a `.part` file and
/// verified end to end with sha256 (the node's digest, see `remoteSHA256Command`, against podium's own hash of the local file).
extension SSHSession {
    public struct TransferResult: Sendable {
        public var bytes: Int64
        public var resumedFrom: Int64
        public var sha256: String
    }

    /// Downloads `remote` to `local`; an interrupted earlier download (`local.part`) is resumed, not restarted.
    public func download(remote: String, to local: String) throws -> TransferResult {
        let doing = "downloading \(remote) from \(target.host)"
        let part = local + ".part"
        var hasher = SHA256()
        var offset: Int64 = 0
        if let fd = Optional(open(part, O_RDONLY)), fd >= 0 {
            offset = hashFile(fd, into: &hasher)
            close(fd)
        }
        let out = open(part, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard out >= 0 else { throw SSHError(.io, doing: doing, message: "cannot write \(part): \(String(cString: strerror(errno)))") }
        // The node hashes its file while we copy it. The copy's bytes are hashed and written to the .part file right on
        // the session's I/O thread (no socket hop, no second thread per MiB).
        let remoteSum = try exec(remoteSHA256Command([remote]))
        let sink = DownloadSink(fd: out, hasher: hasher, offset: offset)
        let copy: SSHExec
        do {
            copy = try exec(offset == 0 ? "cat -- \(shellQuote(remote))" : "tail -c +\(offset + 1) -- \(shellQuote(remote))",
                            stdoutSink: { sink.take($0) })
        } catch {
            close(out)
            remoteSum.close()
            throw error
        }
        _ = copy.readAll()  // returns at the end of the output
        let status = copy.waitExit(timeout: 60)
        copy.close()
        let (total, writeError) = sink.finish()
        fsync(out)
        close(out)
        if let writeError { throw SSHError(.io, doing: doing, message: "writing \(part): \(writeError); \(total) bytes kept for a resume") }
        guard status == 0 else {
            throw copy.error ?? SSHError(.io, doing: doing, message: "the node's copy command failed (status \(status.map(String.init) ?? "none")); \(total) bytes kept in \(part) for a resume")
        }
        hasher = sink.hasher
        let expected = parseSHA256Lines(remoteSum.readAll(), for: [remote])[remote] ?? "(none)"
        remoteSum.close()
        let actual = hasher.hexDigest()
        guard expected == actual else {
            unlink(part)
            throw SSHError(.io, doing: doing, message: "sha256 mismatch: node \(expected), received \(actual); the partial file was removed")
        }
        guard rename(part, local) == 0 else { throw SSHError(.io, doing: doing, message: "rename \(part): \(String(cString: strerror(errno)))") }
        return TransferResult(bytes: total, resumedFrom: offset, sha256: actual)
    }

    /// Uploads `local` to `remote`, resuming an earlier `remote.part`, verified with the node's digest of what it wrote.
    public func upload(local: String, to remote: String) throws -> TransferResult {
        let doing = "uploading \(local) to \(target.host):\(remote)"
        let part = remote + ".part"
        let (_, sizeOut) = try run("stat -c %s -- \(shellQuote(part)) 2>/dev/null || echo 0")
        var offset = Int64(String(decoding: sizeOut, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        let fd = open(local, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SSHError(.io, doing: doing, message: "cannot read \(local): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        fstat(fd, &st)
        if offset > Int64(st.st_size) { offset = 0 }
        var hasher = SHA256()
        // Hash what the node already has (our prefix), then stream the rest.
        _ = hashFile(fd, into: &hasher, upTo: offset)
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        let sink = try exec(offset == 0 ? "cat > \(shellQuote(part))" : "cat >> \(shellQuote(part))")
        var total = offset
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            hasher.update(buf[0..<n])
            sink.writeAll(Array(buf[0..<n]))
            total += Int64(n)
        }
        sink.closeWrite()
        _ = sink.readAll()
        let status = sink.waitExit(timeout: 60)
        sink.close()
        guard status == 0 else { throw sink.error ?? SSHError(.io, doing: doing, message: "the node's write failed (status \(status.map(String.init) ?? "none"))") }
        let actual = hasher.hexDigest()
        let (_, sumOut) = try run(remoteSHA256Command([part]))
        let expected = parseSHA256Lines(sumOut, for: [part])[part] ?? "(none)"
        guard expected == actual else {
            _ = try? run("rm -f -- \(shellQuote(part))")
            throw SSHError(.io, doing: doing, message: "sha256 mismatch: sent \(actual), node has \(expected); the node's partial file was removed")
        }
        let (mv, _) = try run("mv -f -- \(shellQuote(part)) \(shellQuote(remote))")
        guard mv == 0 else { throw SSHError(.io, doing: doing, message: "cannot move \(part) into place") }
        return TransferResult(bytes: total, resumedFrom: offset, sha256: actual)
    }

    /// Hashes `fd` from its current position to its end (or `upTo` bytes); returns the bytes hashed.
    private func hashFile(_ fd: Int32, into hasher: inout SHA256, upTo limit: Int64 = .max) -> Int64 {
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        var total: Int64 = 0
        while total < limit {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, Int(min(Int64($0.count), limit - total))) }
            if n <= 0 { break }
            hasher.update(buf[0..<n])
            total += Int64(n)
        }
        return total
    }
}

/// A shell command that prints the SHA-256 of each path on the node, one `<hex> <name>` line per readable file.
/// OpenSSL's digest when the node has it (SHA-NI: ~1 GB/s here, where coreutils' sha256sum does 160 MB/s and was the
/// bottleneck of a verified fetch), else `sha256sum`. Names starting with `-` are passed as `./name`.
public func remoteSHA256Command(_ paths: [String]) -> String {
    let args = paths.map { shellQuote($0.hasPrefix("-") ? "./" + $0 : $0) }.joined(separator: " ")
    return "if command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 -r \(args); else sha256sum -- \(args); fi"
}

/// Reads the output of `remoteSHA256Command(paths)` back into path → lowercase hex (both tools' formats:
/// `<hex>  name`, `<hex> *name`).
public func parseSHA256Lines(_ output: [UInt8], for paths: [String]) -> [String: String] {
    var asGiven = [String: String]()
    for p in paths { asGiven[p.hasPrefix("-") ? "./" + p : p] = p }
    var out = [String: String]()
    for line in String(decoding: output, as: UTF8.self).split(separator: "\n") {
        guard let space = line.firstIndex(of: " ") else { continue }
        let hex = line[..<space]
        guard hex.count == 64, hex.allSatisfy(\.isHexDigit) else { continue }
        var name = line[line.index(after: space)...]
        if name.first == " " || name.first == "*" { name = name.dropFirst() }
        if let p = asGiven[String(name)] { out[p] = hex.lowercased() }
    }
    return out
}

/// Where a download's bytes go on the session's I/O thread: hashed and appended to the `.part` file there (a hand-off
/// to a hashing thread measured slower on two cores), and every 32 MiB a helper thread flushes what is written so far
/// (fdatasync), so the final fsync waits for the tail only, not for gigabytes of page cache.
final class DownloadSink: @unchecked Sendable {
    let fd: Int32
    private(set) var hasher: SHA256
    private var total: Int64
    private var error: String?
    private var unflushed = 0
    private let flushes = BlockingQueue<Bool>()
    private let flusherDone = BlockingQueue<Bool>()

    init(fd: Int32, hasher: SHA256, offset: Int64) {
        self.fd = fd; self.hasher = hasher; total = offset
        let flushes = self.flushes, done = self.flusherDone
        BlockingThread.start {
            while true {
                guard let more = flushes.pop(timeout: 3600) else { continue }
                guard more else { break }
                fdatasync(fd)
            }
            done.push(true)
        }
    }

    func take(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard error == nil else { return false }
        hasher.update(bytes)
        guard writeAll(fd, bytes) else { error = String(cString: strerror(errno)); return false }
        total += Int64(bytes.count)
        unflushed += bytes.count
        if unflushed >= 32 << 20 { unflushed = 0; flushes.push(true) }
        return true
    }

    /// Bytes now in the file and the write error, if any. Call once the channel ended (no more `take`), before the
    /// file is closed: it waits for the flusher (no flush of its may touch the descriptor after that).
    func finish() -> (Int64, String?) {
        flushes.push(false)
        _ = flusherDone.pop(timeout: 3600)
        return (total, error)
    }
}
