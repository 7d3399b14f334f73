#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import PodiumCore
import PodiumProtocol
import PodiumSystem

/// A finished attempt's artifacts to its coordinator: files whole or in verified chunks, within a budget.
extension WorkerServer {
    /// Largest artifact set podium returns per attempt (logs and code directories included).
    static let artifactBudgetBytes: Int64 = 4 << 30
    static let chunkBytes = 8 << 20

    /// Sends the agent log, the submission directory, every snapshot and the logs/ and code/ directories — regular files
    /// only (a symlink could point anywhere on the node) — each with its sha256, large ones in chunks; then `artifactsDone`.
    func sendArtifacts(_ owned: OwnedKey, logBytes: Int64 = 0) {
        let runID = owned.key.runID, epoch = owned.key.epoch, sweep = owned.sweep
        guard let dir = knownDirs.withLock({ $0[owned] }) ?? attemptDirectories().first(where: { $0.key == owned })?.path else {
            send(.error(runID: runID, message: "no artifacts for \(runID) epoch \(epoch) on node \(node)"), sweep: sweep)
            return
        }
        let fm = FileManager.default
        var names = ["agent.log"]
        for sub in ["submission", "snapshots", "logs", "code"] {
            names += ((try? fm.subpathsOfDirectory(atPath: dir + "/" + sub)) ?? []).sorted().map { "\(sub)/\($0)" }
        }
        var count = 0
        var budget = WorkerServer.artifactBudgetBytes
        for name in names {
            var st = stat()
            guard lstat(dir + "/" + name, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
            let size = Int64(st.st_size)
            guard size <= budget else {
                send(.error(runID: runID, message: "\(name) (\(size) bytes) exceeds what is left of the \(WorkerServer.artifactBudgetBytes >> 30) GiB artifact budget; not returned"), sweep: sweep)
                continue
            }
            budget -= size
            // The coordinator streamed most of a large log already: send the rest (the sha256 covers the whole file).
            let from = name == "agent.log" && size > Int64(WorkerServer.chunkBytes) && logBytes > 0 && logBytes <= size ? logBytes : 0
            if sendFile(owned, name: name, path: dir + "/" + name, size: size, from: from) { count += 1 }
        }
        send(.artifactsDone(runID: runID, epoch: epoch, count: count), sweep: sweep)
    }

    func sendFile(_ owned: OwnedKey, name: String, path: String, size: Int64, from: Int64 = 0) -> Bool {
        let runID = owned.key.runID, epoch = owned.key.epoch, sweep = owned.sweep
        if size <= Int64(WorkerServer.chunkBytes) && from == 0 {
            guard let data = FileManager.default.contents(atPath: path) else { return false }
            send(.file(runID: runID, epoch: epoch, name: name, sha256: SHA256.hex(Array(data)), data: data), sweep: sweep)
            return true
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var hasher = SHA256()
        var offset: Int64 = 0
        // The log's prefix was hashed as its follower read it: start after it unless something before `from` must be
        // sent again (then the bytes are read anyway).
        if name == "agent.log", let d = logDigests.withLock({ $0[owned] }), d.bytes <= size, d.bytes <= from {
            hasher = d.hasher
            offset = d.bytes
        }
        var buf = [UInt8](repeating: 0, count: WorkerServer.chunkBytes)
        while true {
            guard let n = try? buf.withUnsafeMutableBytes({ b in try retryingEINTR("pread") { pread(fd, b.baseAddress, b.count, off_t(offset)) } }),
                  n > 0 else { break }
            hasher.update(buf[0..<n])
            if offset + Int64(n) > from {
                let skip = Int(max(0, from - offset))
                send(.fileChunk(runID: runID, epoch: epoch, name: name, offset: offset + Int64(skip), data: Data(buf[skip..<n])), sweep: sweep)
            }
            offset += Int64(n)
        }
        send(.fileEnd(runID: runID, epoch: epoch, name: name, sha256: hasher.hexDigest(), bytes: offset), sweep: sweep)
        return true
    }
}
