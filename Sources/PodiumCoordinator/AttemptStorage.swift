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

/// The one owner of central attempt storage: `<state dir>/runs/<sweep>/<run>/e<epoch>/` with the streamed agent.log,
/// the collected artifacts and their checks against the node's sha256. Everything that touches these files runs on
/// the storage thread, in order (so a check always sees every byte written before it); the loop only knows paths.
public final class AttemptStorage: @unchecked Sendable {
    public let root: String
    /// Open agent.log descriptors of live attempts; touched by the storage thread only.
    private var logFDs: [AttemptKey: Int32] = [:]

    public init(root: String) { self.root = root }

    /// Where a sweep's attempts are kept: `runs/<sweep>` beside its state file.
    public static func root(statePath: String, sweep: String) -> String { directoryOf(statePath) + "/runs/" + sweep }

    public func attemptDir(_ key: AttemptKey) -> String { "\(root)/\(key.runID)/e\(key.epoch)" }

    /// Where an artifact goes; nil for names that would leave the attempt directory.
    public func path(_ key: AttemptKey, _ name: String) -> String? {
        CoordinatorInstance.isSafeArtifactName(name) ? attemptDir(key) + "/" + name : nil
    }

    public func logPath(_ key: AttemptKey) -> String { attemptDir(key) + "/agent.log" }

    /// What a person browsing `runs/<sweep>/` needs to know about a run directory: `<run>/run.json`.
    public struct RunInfo: Codable, Sendable, Equatable {
        public var run_id: String
        public var label: String
        public var sweep: String
        public var agent: String
        public var competition: String
        public var budget: String
        public var budget_seconds: Int
        public var profile: String
        public var attempt: Int
        /// Every attempt so far: its epoch (the `e<epoch>` directory) and the node it was sent to.
        public var epochs: [Epoch]
        public struct Epoch: Codable, Sendable, Equatable {
            public var epoch: Int
            public var node: String
        }
    }

    public func runInfoPath(_ runID: String) -> String { "\(root)/\(runID)/run.json" }

    /// Adds an attempt to `<run>/run.json` (written whole, atomically; a write failure is the storage's error).
    public func recordAttempt(_ spec: RunSpec, epoch: Int, node: String) throws {
        var info = (FileManager.default.contents(atPath: runInfoPath(spec.id))).flatMap { try? JSONDecoder().decode(RunInfo.self, from: $0) }
            ?? RunInfo(run_id: spec.id, label: spec.label, sweep: spec.sweep, agent: spec.agent, competition: spec.competition,
                       budget: spec.budget.description, budget_seconds: spec.budget.seconds, profile: spec.profile, attempt: spec.attempt, epochs: [])
        info.epochs.removeAll { $0.epoch == epoch }
        info.epochs.append(.init(epoch: epoch, node: node))
        info.epochs.sort { $0.epoch < $1.epoch }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        try FileManager.default.createDirectory(atPath: "\(root)/\(spec.id)", withIntermediateDirectories: true)
        try enc.encode(info).withUnsafeBytes { try writeFileDurably(runInfoPath(spec.id), $0) }
    }

    /// Bytes of the central agent.log (0 when there is none).
    public func logBytes(_ key: AttemptKey) -> Int64 { fileSize(logPath(key)) }

    // MARK: received bytes

    public func appendLog(_ key: AttemptKey, offset: Int64, data: Data) throws {
        let fd: Int32
        if let open = logFDs[key] { fd = open } else {
            try FileManager.default.createDirectory(atPath: attemptDir(key), withIntermediateDirectories: true)
            fd = try retryingEINTR("open", path: logPath(key)) { open(logPath(key), O_WRONLY | O_CREAT | O_CLOEXEC, 0o644) }
            logFDs[key] = fd
        }
        try data.withUnsafeBytes { try pwriteAll(fd, $0, at: offset, path: logPath(key)) }
    }

    /// Hands the live log's descriptor over (nil when none is open); the caller syncs and closes it.
    public func takeLogFD(_ key: AttemptKey) -> Int32? { logFDs.removeValue(forKey: key) }

    /// Writes part of a file sent in chunks: agent.log into the streamed copy itself, others into `<name>.part`.
    public func writeChunk(_ key: AttemptKey, name: String, offset: Int64, data: Data) throws {
        guard let path = path(key, name) else { return }
        try FileManager.default.createDirectory(atPath: directoryOf(path), withIntermediateDirectories: true)
        let target = name == "agent.log" ? path : path + ".part"
        let fd = try retryingEINTR("open", path: target) { open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644) }
        defer { close(fd) }
        try data.withUnsafeBytes { try pwriteAll(fd, $0, at: offset, path: target) }
    }

    /// Empties the central log before it is fetched whole again.
    public func resetLog(_ key: AttemptKey) {
        if let fd = logFDs.removeValue(forKey: key) { close(fd) }
        _ = truncate(logPath(key), 0)
    }

    public func closeAll() {
        for fd in logFDs.values { close(fd) }
        logFDs.removeAll()
    }

    // MARK: checks

    /// A whole file sent in one frame: checked against the node's sha256, then written durably.
    public func store(_ key: AttemptKey, name: String, sha256: String, data: Data) throws -> StorageCheck {
        let actual = SHA256.hex(Array(data))
        guard actual == sha256 else { return .corrupt(name: name, reason: "sha256 \(actual) ≠ \(sha256)") }
        guard let path = path(key, name) else { return .corrupt(name: name, reason: "name leaves the attempt directory") }
        try FileManager.default.createDirectory(atPath: directoryOf(path), withIntermediateDirectories: true)
        var replaced: String?
        if name == "agent.log", let streamed = FileManager.default.contents(atPath: path), SHA256.hex(Array(streamed)) != sha256 {
            replaced = "streamed copy (\(streamed.count) bytes) differed from the node's (\(data.count) bytes); replaced"
        }
        try data.withUnsafeBytes { try writeFileDurably(path, $0) }
        return .stored(StoredArtifact(name: name, sha256: sha256, bytes: Int64(data.count), path: path,
                                      elapsedSeconds: Self.snapshotSeconds(name)), replaced: replaced)
    }

    /// A file sent in chunks: its size and sha256 must be the node's; then it is synced and put in place.
    /// agent.log is checked where it was streamed to (a longer copy is cut to the node's length first).
    public func verify(_ key: AttemptKey, name: String, sha256: String, bytes: Int64) throws -> StorageCheck {
        guard let path = path(key, name) else { return .corrupt(name: name, reason: "name leaves the attempt directory") }
        let artifact = StoredArtifact(name: name, sha256: sha256, bytes: bytes, path: path, elapsedSeconds: Self.snapshotSeconds(name))
        if name == "agent.log" {
            if fileSize(path) > bytes { _ = truncate(path, off_t(bytes)) }
            let central = fileSize(path)
            guard central == bytes, SHA256.hex(fileAt: path) == sha256 else { return .logMismatch(centralBytes: central, nodeBytes: bytes) }
            try sync(path)
            return .verified(artifact)
        }
        let part = path + ".part"
        guard fileSize(part) == bytes, SHA256.hex(fileAt: part) == sha256 else {
            unlink(part)
            return .corrupt(name: name, reason: "size or sha256 differs from the node's")
        }
        try sync(part)
        try retryingEINTR("rename", path: part) { rename(part, path) }
        return .verified(artifact)
    }

    /// Makes a live log durable once its attempt ended.
    public func syncAndClose(_ fd: Int32, key: AttemptKey) throws {
        defer { close(fd) }
        try retryingEINTR("fsync", path: logPath(key)) { fsync(fd) }
    }

    private func sync(_ path: String) throws {
        let fd = try retryingEINTR("open", path: path) { open(path, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        try retryingEINTR("fsync", path: path) { fsync(fd) }
    }

    /// `snapshots/t0000120-…`: the snapshot's elapsed seconds from its name.
    static func snapshotSeconds(_ name: String) -> Double? {
        name.hasPrefix("snapshots/t") ? Double(name.dropFirst(11).prefix(7)) : nil
    }
}
