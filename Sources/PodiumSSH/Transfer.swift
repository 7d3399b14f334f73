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
/// verified end to end with sha256 (the node's `sha256sum` against podium's own hash of the local file).
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
        // The node hashes its file while we copy it.
        let remoteSum = try exec("sha256sum -- \(shellQuote(remote))")
        let copy = try exec(offset == 0 ? "cat -- \(shellQuote(remote))" : "tail -c +\(offset + 1) -- \(shellQuote(remote))")
        let out = open(part, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard out >= 0 else { throw SSHError(.io, doing: doing, message: "cannot write \(part): \(String(cString: strerror(errno)))") }
        var total = offset
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buf.withUnsafeMutableBytes { read(copy.fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            hasher.update(buf[0..<n])
            var w = 0
            while w < n {
                let k = buf.withUnsafeBytes { write(out, $0.baseAddress! + w, n - w) }
                if k <= 0 { close(out); throw SSHError(.io, doing: doing, message: "writing \(part): \(String(cString: strerror(errno)))") }
                w += k
            }
            total += Int64(n)
        }
        fsync(out)
        close(out)
        copy.close()
        let status = copy.waitExit(timeout: 60)
        guard status == 0 else {
            throw copy.error ?? SSHError(.io, doing: doing, message: "the node's copy command failed (status \(status.map(String.init) ?? "none")); \(total) bytes kept in \(part) for a resume")
        }
        let expected = String(decoding: remoteSum.readAll(), as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
        remoteSum.close()
        let actual = hasher.hexDigest()
        guard expected == actual else {
            unlink(part)
            throw SSHError(.io, doing: doing, message: "sha256 mismatch: node \(expected), received \(actual); the partial file was removed")
        }
        guard rename(part, local) == 0 else { throw SSHError(.io, doing: doing, message: "rename \(part): \(String(cString: strerror(errno)))") }
        return TransferResult(bytes: total, resumedFrom: offset, sha256: actual)
    }

    /// Uploads `local` to `remote`, resuming an earlier `remote.part`, verified with the node's sha256sum.
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
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        var done: Int64 = 0
        while done < offset {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, min($0.count, Int(offset - done))) }
            if n <= 0 { break }
            hasher.update(buf[0..<n])
            done += Int64(n)
        }
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
        let (_, sumOut) = try run("sha256sum -- \(shellQuote(part))")
        let expected = String(decoding: sumOut, as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
        guard expected == actual else {
            _ = try? run("rm -f -- \(shellQuote(part))")
            throw SSHError(.io, doing: doing, message: "sha256 mismatch: sent \(actual), node has \(expected); the node's partial file was removed")
        }
        let (mv, _) = try run("mv -f -- \(shellQuote(part)) \(shellQuote(remote))")
        guard mv == 0 else { throw SSHError(.io, doing: doing, message: "cannot move \(part) into place") }
        return TransferResult(bytes: total, resumedFrom: offset, sha256: actual)
    }

    private func hashFile(_ fd: Int32, into hasher: inout SHA256) -> Int64 {
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        var total: Int64 = 0
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return total }
            hasher.update(buf[0..<n])
            total += Int64(n)
        }
    }
}
