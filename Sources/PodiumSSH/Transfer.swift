#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import PodiumCore
import PodiumSystem

/// File transfer over exec channels (`cat`/`tail -c` on the node, like `ssh … cat`), resumable from a `.part` file and
/// verified end to end with sha256 (the node's digest, see `remoteSHA256Command`, against podium's own hash of the local file).
extension SSHSession {
    public struct TransferResult: Sendable {
        public var bytes: Int64
        public var resumedFrom: Int64
        public var sha256: String
    }

    /// Downloads `remote` to `local`, verified with the node's sha256 of the whole file; an interrupted earlier download
    /// (`local.part`, and `local.part.ranges` when it had several streams) is resumed, not restarted.
    ///
    /// `streams` > 1 splits what is left into that many byte ranges (each at least `minBytesPerStream`), each copied over
    /// a connection of its own. libssh2 decrypts one 16-byte block per OpenSSL call on the connection's I/O thread, so a
    /// single connection runs at what one core decrypts; a second connection decrypts on a second core. The first range
    /// is hashed as it arrives, the others from the file once every range is in (SHA-256 runs in order). A range whose
    /// connection cannot be opened runs as one more channel of this session.
    public func download(remote: String, to local: String, streams: Int = 1,
                         minBytesPerStream: Int64 = 64 << 20) throws -> TransferResult {
        let doing = "downloading \(remote) from \(target.host)"
        let part = local + ".part"
        let rangesPath = part + ".ranges"
        let quoted = shellQuote(remote)
        let (statStatus, statOut) = try run("stat -L -c %s -- \(quoted) 2>&1")
        let statText = String(decoding: statOut, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard statStatus == 0, let size = Int64(statText) else {
            throw SSHError(.io, doing: doing, message: "cannot read \(remote) on the node: \(statText.isEmpty ? "stat exited \(statStatus)" : statText)")
        }
        var plan: PartPlan
        if let resumed = PartPlan.load(rangesPath, size: size) {
            plan = resumed
        } else {
            // A ranges file that no longer fits the node's file (its size changed), or a plain `.part` longer than the
            // file: what is there is not part of this file.
            if access(rangesPath, F_OK) == 0 || fileSize(part) > size { unlink(part); unlink(rangesPath) }
            plan = PartPlan.fresh(size: size, have: fileSize(part), streams: streams, minBytesPerStream: minBytesPerStream)
        }
        let resumedFrom = plan.held
        // A part written by several streams is not a prefix: the ranges file says which bytes it holds, so it is on disk
        // before the first byte lands.
        if plan.ranges.count > 1 { try plan.save(rangesPath) }
        let out = open(part, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard out >= 0 else { throw SSHError(.io, doing: doing, message: "cannot write \(part): \(SystemError.text(errno))") }
        var hasher = SHA256()
        if plan.ranges[0].done > 0 { hashFile(at: part, into: &hasher, from: 0, upTo: plan.ranges[0].done) }
        let flusher = PartFlusher(fd: out, plan: plan, rangesPath: plan.ranges.count > 1 ? rangesPath : nil)
        // The node hashes its file while we copy it.
        let remoteSum: SSHExec
        do { remoteSum = try exec(remoteSHA256Command([remote])) } catch { flusher.stop(); close(out); throw error }
        var extra: [SSHSession] = []
        var copies: [(exec: SSHExec, sink: RangeSink)] = []
        var failures: [String] = []
        for (i, r) in plan.ranges.enumerated() {
            let last = i == plan.ranges.count - 1
            guard r.done < r.end || (last && r.done == r.start) else { continue }
            // The last range runs to the end of the file, the others stop at theirs.
            let command: String
            switch (r.done, last) {
            case (0, true): command = "cat -- \(quoted)"
            case (_, true): command = "tail -c +\(r.done + 1) -- \(quoted)"
            case (0, false): command = "head -c \(r.end) -- \(quoted)"
            default: command = "tail -c +\(r.done + 1) -- \(quoted) | head -c \(r.end - r.done)"
            }
            var session = self
            if i > 0, let s = try? SSHSession(target: target) { extra.append(s); session = s }
            let sink = RangeSink(index: i, fd: out, offset: r.done, hasher: i == 0 ? hasher : nil, flusher: flusher)
            do {
                copies.append((try session.exec(command, stdoutSink: { sink.take($0) }), sink))
            } catch {
                failures.append("range \(i): \(error)")
            }
        }
        for (copy, sink) in copies {
            let i = sink.index
            _ = copy.readAll()  // returns at the end of the output
            let status = copy.waitExit(timeout: 60)
            copy.close()
            let (done, writeError) = sink.finish()
            plan.ranges[i].done = done
            if let writeError { failures.append("writing \(part): \(writeError)") }
            if status != 0 {
                failures.append("\(copy.error.map { "\($0)" } ?? "the node's copy command failed (status \(status.map(String.init) ?? "none"))")")
            } else if i < plan.ranges.count - 1 && done != plan.ranges[i].end {
                failures.append("range \(i) ended at byte \(done), not \(plan.ranges[i].end): the file on the node changed")
            }
            if i == 0, let h = sink.hasher { hasher = h }
        }
        for s in extra { s.disconnect() }
        flusher.stop()
        let total = plan.ranges.last!.done
        if failures.isEmpty { ftruncate(out, off_t(total)) }  // nothing past the file's end, whatever was there before
        fsync(out)
        close(out)
        guard failures.isEmpty else {
            remoteSum.close()
            if plan.ranges.count > 1 { try? plan.save(rangesPath) }
            throw SSHError(.io, doing: doing, message: "\(failures.joined(separator: "; ")); \(plan.held) bytes kept in \(part) for a resume")
        }
        // Everything after the first range, hashed from the file in order. (Hashing a later range while it arrives
        // can only start once every range before it is whole, so with ranges of equal speed it gains nothing: tried,
        // within noise.)
        if plan.ranges.count > 1 { hashFile(at: part, into: &hasher, from: plan.ranges[0].end, upTo: total) }
        let expected = parseSHA256Lines(remoteSum.readAll(), for: [remote])[remote] ?? "(none)"
        remoteSum.close()
        let actual = hasher.hexDigest()
        guard expected == actual else {
            unlink(part)
            unlink(rangesPath)
            throw SSHError(.io, doing: doing, message: "sha256 mismatch: node \(expected), received \(actual); the partial file was removed")
        }
        guard rename(part, local) == 0 else { throw SSHError(.io, doing: doing, message: "rename \(part): \(SystemError.text(errno))") }
        unlink(rangesPath)
        return TransferResult(bytes: total, resumedFrom: resumedFrom, sha256: actual)
    }

    /// Uploads `local` to `remote`, resuming an earlier `remote.part`, verified with the node's digest of what it wrote.
    public func upload(local: String, to remote: String) throws -> TransferResult {
        let doing = "uploading \(local) to \(target.host):\(remote)"
        let part = remote + ".part"
        let (_, sizeOut) = try run("stat -c %s -- \(shellQuote(part)) 2>/dev/null || echo 0")
        var offset = Int64(String(decoding: sizeOut, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        let fd = open(local, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SSHError(.io, doing: doing, message: "cannot read \(local): \(SystemError.text(errno))") }
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

    /// Hashes the bytes of the file at `path` from offset `from` up to offset `end` (or its end of file). A file that
    /// cannot be read adds nothing: the sha256 comparison then fails.
    private func hashFile(at path: String, into hasher: inout SHA256, from: Int64, upTo end: Int64) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        guard lseek(fd, off_t(from), SEEK_SET) == off_t(from) else { return }
        _ = hashFile(fd, into: &hasher, upTo: end - from)
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

/// Which byte ranges of a download are in its `.part` file: `start..<end` each, `done` the offset up to which a range's
/// bytes are written (and, in the ranges file, flushed to disk). The ranges cover the file in order; the last one runs
/// to the end of the file, whatever its length then.
struct PartPlan: Codable, Equatable {
    struct Range: Codable, Equatable { var start: Int64; var end: Int64; var done: Int64 }
    var size: Int64
    var ranges: [Range]
    /// Bytes of the file the part holds.
    var held: Int64 { ranges.reduce(0) { $0 + ($1.done - $1.start) } }

    /// A new plan: the contiguous prefix already in a plain `.part` (`have` bytes) stays, and what is left is split
    /// into up to `streams` ranges of at least `minBytesPerStream` (the first one starts at 0 and holds the prefix).
    static func fresh(size: Int64, have: Int64, streams: Int, minBytesPerStream: Int64) -> PartPlan {
        let left = size - have
        let n = Int(max(1, min(Int64(max(1, streams)), left / max(1, minBytesPerStream))))
        let share = left / Int64(n)
        var ranges: [Range] = []
        for i in 0..<n {
            let start = i == 0 ? 0 : have + share * Int64(i)
            let end = i == n - 1 ? size : have + share * Int64(i + 1)
            ranges.append(Range(start: start, end: end, done: i == 0 ? have : start))
        }
        return PartPlan(size: size, ranges: ranges)
    }

    /// The plan an interrupted multi-stream download left, when it still fits the file on the node (same size, ranges
    /// in order and whole); nil otherwise (the `.part` then counts as a plain prefix and is checked as such).
    static func load(_ path: String, size: Int64) -> PartPlan? {
        guard let data = FileManager.default.contents(atPath: path),
              let plan = try? JSONDecoder().decode(PartPlan.self, from: data), plan.size == size, !plan.ranges.isEmpty else { return nil }
        var next: Int64 = 0
        for (i, r) in plan.ranges.enumerated() {
            guard r.start == next, r.start <= r.done, r.done <= r.end || i == plan.ranges.count - 1 else { return nil }
            next = r.end
        }
        return next == size ? plan : nil
    }

    func save(_ path: String) throws {
        let data = try JSONEncoder().encode(self)
        try data.withUnsafeBytes { try writeFileDurably(path, $0) }
    }
}

/// Flushes a download's `.part` file every 32 MiB written (fdatasync on a helper thread, so the final fsync waits for
/// the tail only, not for gigabytes of page cache) and, for a multi-stream download, then records how far each range
/// is on disk in the ranges file: a resume after a crash starts from there.
final class PartFlusher: @unchecked Sendable {
    private let fd: Int32
    private let progress: Locked<(plan: PartPlan, unflushed: Int)>
    private let requests = BlockingQueue<Bool>()
    private let done = BlockingQueue<Bool>()

    init(fd: Int32, plan: PartPlan, rangesPath: String?) {
        self.fd = fd
        progress = Locked((plan, 0))
        let requests = self.requests, done = self.done, progress = self.progress
        BlockingThread.start {
            while true {
                guard let more = requests.pop(timeout: 3600) else { continue }
                guard more else { break }
                let snapshot = progress.withLock { $0.plan }
                guard fdatasync(fd) == 0 else { continue }
                if let rangesPath { try? snapshot.save(rangesPath) }
            }
            done.push(true)
        }
    }

    /// Range `index` now has its bytes written up to `offset`.
    func wrote(_ index: Int, upTo offset: Int64, bytes: Int) {
        let flush = progress.withLock { p -> Bool in
            p.plan.ranges[index].done = offset
            p.unflushed += bytes
            guard p.unflushed >= 32 << 20 else { return false }
            p.unflushed = 0
            return true
        }
        if flush { requests.push(true) }
    }

    /// Waits for the flusher's last flush; no flush of its touches the descriptor after this.
    func stop() {
        requests.push(false)
        _ = done.pop(timeout: 3600)
    }
}

/// Where one range's bytes go on its session's I/O thread: written at their offset in the `.part` file and, for the
/// first range, hashed right there (no socket hop, no second thread per MiB; a hand-off to a hashing thread measured
/// slower on two cores).
final class RangeSink: @unchecked Sendable {
    let index: Int
    let fd: Int32
    private(set) var hasher: SHA256?
    private var offset: Int64
    private var error: String?
    private let flusher: PartFlusher

    init(index: Int, fd: Int32, offset: Int64, hasher: SHA256?, flusher: PartFlusher) {
        self.index = index; self.fd = fd; self.offset = offset; self.hasher = hasher; self.flusher = flusher
    }

    func take(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard error == nil else { return false }
        hasher?.update(bytes)
        var written = 0
        while written < bytes.count {
            do {
                written += try retryingEINTR("pwrite") { pwrite(fd, bytes.baseAddress! + written, bytes.count - written, off_t(offset) + off_t(written)) }
            } catch let e {
                error = e.reason
                return false
            }
        }
        offset += Int64(written)
        flusher.wrote(index, upTo: offset, bytes: written)
        return true
    }

    /// Where the range's bytes end in the file, and the write error, if any. Call once the channel ended (no more `take`).
    func finish() -> (Int64, String?) { (offset, error) }
}
