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
import PodiumSSH
import PodiumStore
import PodiumSystem

/// Carries out the instance's `.stageData` jobs off the loop (issue 18), on a few threads of its own: evict what the
/// job names, then make the node's cache hold the competition's public data, every file verified against the
/// coordinator's manifest (sha256). The node's cache is recorded in the state as it goes (`node_data`: staging,
/// evicting, ready) before the answer reaches the loop, so what a node holds survives a coordinator crash and a
/// `kill -9` mid-staging resumes: files already verified on the node are trusted by their recorded digest and not copied
/// again.
final class CacheStager: Sendable {
    private let jobs = BlockingQueue<DataStageJob?>()
    private let threads: Int

    init(setup: SweepSetup, store: StateStore, progress: Progress, workerCommand: [String], manifests: Locked<[String: DataManifest]>,
         threads: Int, done: @escaping @Sendable (DataStageJob, DataStageOutcome) -> Void) {
        self.threads = threads
        let jobs = self.jobs
        let work = CacheStagingWork(setup: setup, store: store, progress: progress, workerCommand: workerCommand, manifests: manifests)
        for _ in 0..<threads {
            BlockingThread.start {
                while true {
                    guard let item = jobs.pop(timeout: 3600) else { continue }
                    guard let job = item else { return }
                    done(job, work.run(job))
                }
            }
        }
    }

    func submit(_ job: DataStageJob) { jobs.push(job, wait: false) }
    func stop() { for _ in 0..<threads { jobs.push(nil, wait: false) } }
}

/// One staging job, start to end (blocking).
struct CacheStagingWork: Sendable {
    let setup: SweepSetup
    let store: StateStore
    let progress: Progress
    let workerCommand: [String]
    let manifests: Locked<[String: DataManifest]>

    func run(_ job: DataStageJob) -> DataStageOutcome {
        guard let node = setup.inventory.nodes.first(where: { $0.name == job.place }) else {
            return .failed(reason: "node \(job.place) is not in the inventory", diskFull: false)
        }
        var session: SSHSession?
        defer { session?.disconnect() }
        do {
            if node.transport == .ssh { session = try SSHSession(target: SSHTarget.from(node: node)) }
            for victim in job.evict { try evict(victim, on: node, session: session) }
            let m = try manifest(job.competition)
            let digest = m.digest
            try store.setNodeData(node: node.name, competition: job.competition, bytes: m.totalBytes, state: "staging", manifestSHA256: digest)
            let local = setup.publicDataDir(job.competition), remote = setup.publicDataDir(job.competition, node: node)
            let started = monotonicSeconds()
            var copied: Int64 = 0
            var fromNode = 0
            if node.transport == .local && remote == local {
                // The coordinator's own data directory: nothing to copy, and it is the manifest's source.
            } else {
                switch node.dataCache?.source ?? .push {
                case .push:
                    let files: NodeFiles = session.map { SSHNodeFiles(session: $0) } ?? LocalNodeFiles()
                    // PODIUM_FAILPOINT=staging-copied: killed once every file is on the node and before the node's
                    // manifest records them (the crash tests' resume case).
                    let r = try DataStaging.stage(manifest: m, localDir: local, remoteDir: remote, node: files) { sent, total in
                        if total > 0 && sent == total { SweepRunner.failpoint("staging-copied") }
                    }
                    copied = r.pushedBytes
                    fromNode = r.hashedOnNode
                case .shared(let root):
                    copied = try pull(m, source: "\(root)/\(job.competition)/prepared/public", into: remote, node: node, session: session)
                case .http(let prefix):
                    let base = prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
                    copied = try pull(m, source: "\(base)/\(job.competition)/prepared/public", into: remote, node: node, session: session)
                }
            }
            try store.setNodeData(node: node.name, competition: job.competition, bytes: m.totalBytes, state: "ready", manifestSHA256: digest)
            let secs = monotonicSeconds() - started
            try store.logEvent(kind: "data_staged", detail: "\(job.competition) on \(node.name) from \(node.dataCache?.source.text ?? "push"): \(m.files.count) files, \(m.totalBytes) bytes verified; \(copied) bytes copied in \(Int(secs)) s\(fromNode > 0 ? ", \(fromNode) files hashed on the node" : "")")
            if copied > 0 {
                progress.note("staged \(job.competition) on \(node.name): \(formatBytes(copied)) in \(Int(secs)) s (\(Int(Double(copied) / 1_048_576 / max(secs, 1e-3))) MiB/s), every file verified")
            }
            return .ready(copied: copied)
        } catch {
            let text = "\(error)"
            let full = text.contains("No space left") || text.contains("ENOSPC") || text.contains("disk full")
            return .failed(reason: text, diskFull: full)
        }
    }

    /// The coordinator's manifest of a competition's public data (hashes cached by path, size and mtime).
    func manifest(_ competition: String) throws -> DataManifest {
        if let known = manifests.withLock({ $0[competition] }) { return known }
        let m = try DataManifest.of(directory: setup.publicDataDir(competition),
                                    cacheFile: directoryOf(setup.config.state) + "/data-manifests/\(competition).json")
        manifests.withLock { $0[competition] = m }
        return m
    }

    /// Removes a competition's data from the node's cache: recorded as `evicting` first, the row dropped once it is gone.
    func evict(_ competition: String, on node: NodeSpec, session: SSHSession?) throws {
        guard let cache = node.dataCache, isPlainName(competition) else { return }
        let dir = "\(cache.path)/\(competition)"
        let held = try store.nodeData().first { $0.node == node.name && $0.competition == competition }
        try store.setNodeData(node: node.name, competition: competition, bytes: held?.bytes ?? 0, state: "evicting",
                              manifestSHA256: held?.manifestSHA256)
        if let session {
            let (status, _) = try session.run("rm -rf -- \(shellQuote(dir))", timeout: 3600)
            guard status == 0 else { throw StagingError(description: "removing \(dir) on \(node.name) failed (status \(status))") }
        } else if FileManager.default.fileExists(atPath: dir) {
            try FileManager.default.removeItem(atPath: dir)
        }
        try store.removeNodeData(node: node.name, competition: competition)
        try store.logEvent(kind: "data_evicted", detail: "\(competition) from \(node.name): \(held?.bytes ?? 0) bytes (least recently used, no run uses it)")
        progress.note("evicted \(competition) from \(node.name)'s data cache (\(formatBytes(held?.bytes ?? 0)))")
    }

    /// The node fetches the files itself (`podium-worker stage`), given the manifest on its stdin; it verifies every
    /// file's sha256 before it keeps it. Returns the bytes it fetched.
    func pull(_ m: DataManifest, source: String, into dest: String, node: NodeSpec, session: SSHSession?) throws -> Int64 {
        let input = Array(try JSONEncoder().encode(m))
        let worker = node.workerCommand ?? (node.transport == .ssh ? ["podium-worker"] : workerCommand)
        let args = worker + ["stage", "--source", source, "--dest", dest]
        let status: Int32, output: [UInt8]
        if let session {
            (status, output) = try session.run(args.map(shellQuote).joined(separator: " ") + " 2>&1", input: input, timeout: 7 * 86400)
        } else {
            let child = try ChildProcess(arguments: args, stdinPipe: true, stdoutPipe: true, stderr: .stdout)
            let writerFD = child.stdinFD
            BlockingThread.start {
                _ = input.withUnsafeBytes { writeAll(writerFD, $0) }
                close(writerFD)
            }
            var out = [UInt8]()
            var buf = [UInt8](repeating: 0, count: 65536)
            while let n = try? buf.withUnsafeMutableBytes({ b in try retryingEINTR("read") { read(child.stdoutFD, b.baseAddress, b.count) } }), n > 0 {
                out += buf[0..<n]
            }
            close(child.stdoutFD)
            status = child.wait(timeout: 60)
            output = out
        }
        let text = String(decoding: output, as: UTF8.self)
        let last = text.split(separator: "\n").last.map(String.init) ?? ""
        let result = try? JSONDecoder().decode(PullResult.self, from: Data(last.utf8))
        guard status == 0, let result, result.ok else {
            let why = result?.error ?? (text.isEmpty ? "exit status \(status)" : String(text.suffix(600)))
            throw StagingError(description: "\(node.name) pulling from \(source): \(why)\(result?.diskFull == true ? " (disk full)" : "")")
        }
        return result.fetchedBytes
    }

    struct PullResult: Decodable {
        var ok: Bool
        var error: String?
        var diskFull: Bool?
        var fetchedBytes: Int64
        enum CodingKeys: String, CodingKey { case ok, error, diskFull = "disk_full", fetchedBytes = "fetched_bytes" }
        init(from d: any Decoder) throws {
            let c = try d.container(keyedBy: CodingKeys.self)
            ok = try c.decode(Bool.self, forKey: .ok)
            error = try c.decodeIfPresent(String.self, forKey: .error)
            diskFull = try c.decodeIfPresent(Bool.self, forKey: .diskFull)
            fetchedBytes = try c.decodeIfPresent(Int64.self, forKey: .fetchedBytes) ?? 0
        }
    }
}

/// A competition id used as one path component (never "..", never a slash).
func isPlainName(_ s: String) -> Bool { !s.isEmpty && s != "." && s != ".." && !s.contains("/") }

extension DataManifest {
    /// Bytes of the regular files under `dir` (following symlinks), without reading them.
    public static func bytes(under dir: String) -> Int64 {
        guard let e = FileManager.default.enumerator(atPath: dir) else { return 0 }
        var total: Int64 = 0
        while let rel = e.nextObject() as? String {
            var st = stat()
            if stat(dir + "/" + rel, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, rel != fileName { total += Int64(st.st_size) }
        }
        return total
    }
}
