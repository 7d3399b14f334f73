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

/// Supervises one attempt: launch, budget (SIGTERM, grace, SIGKILL), log capture with a cap, submission snapshots,
/// outcome classification. Blocking; runs on its own thread. The same code backs the daemon and `podium-worker run`.
public final class RunSupervisor: @unchecked Sendable {
    public let request: StartRequest
    public let layout: AttemptLayout
    let runtime: any AgentRuntime
    let labels: [String: String]
    let logCapBytes: Int64
    let gpus: [GPUDevice]
    let emit: @Sendable (Reply) -> Void
    /// Set when taking over an attempt a previous daemon started.
    let adopting: AttemptRecord?
    let services: AttemptServices
    private let cancelled = Locked(false)

    public init(request: StartRequest, layout: AttemptLayout, runtime: any AgentRuntime, labels: [String: String],
                logCapBytes: Int64 = 1 << 30, gpus: [GPUDevice] = [], services: AttemptServices = AttemptServices(),
                adopting: AttemptRecord? = nil, emit: @escaping @Sendable (Reply) -> Void) {
        self.request = request; self.layout = layout; self.runtime = runtime; self.labels = labels; self.services = services
        self.logCapBytes = logCapBytes; self.gpus = gpus; self.adopting = adopting; self.emit = emit
    }

    public func cancel() { cancelled.withLock { $0 = true } }
    /// Stop without the grace period (a second Ctrl-C of a foreground run).
    public func killNow() { cancelled.withLock { $0 = true }; killRequested.withLock { $0 = true } }
    private let killRequested = Locked(false)

    /// Runs the attempt to its end and returns how it ended (also written to `result.json` in the attempt directory).
    public func run() -> AttemptResult {
        let result = supervise()
        if let data = try? JSONEncoder().encode(result) { writeDurably(layout.resultFile, data) }
        return result
    }

    private func infra(_ message: String, elapsed: Double = 0, logBytes: Int64 = 0) -> AttemptResult {
        AttemptResult(outcome: .infraError, exitCode: nil, elapsedSeconds: elapsed, message: message, snapshots: [],
                      submissionSHA256: nil, logBytes: logBytes, gpus: gpus.map(\.uuid))
    }

    private func supervise() -> AttemptResult {
        let handle: any AgentHandle
        let startedAt: Double
        if let record = adopting {
            do { handle = try runtime.adopt(record, services: services) } catch { return infra("\(error)") }
            startedAt = record.startedAt
        } else {
            let fm = FileManager.default
            do {
                for d in [layout.submissionDir, layout.logsDir, layout.codeDir, layout.snapshotsDir] {
                    try fm.createDirectory(atPath: d, withIntermediateDirectories: true)
                }
            } catch {
                return infra("cannot create the attempt directory \(layout.root): \(error)")
            }
            guard request.dataDir.hasPrefix("/") else {
                return infra("the public data path must be absolute, got '\(request.dataDir)'")
            }
            guard fm.fileExists(atPath: request.dataDir) else {
                return infra("the competition's public data is not on this node at \(request.dataDir)")
            }
            do {
                handle = try runtime.launch(request, layout: layout, labels: labels, gpus: gpus, services: services)
            } catch {
                return infra("\(error)")
            }
            startedAt = wallClockSeconds()
            // What a restarted daemon needs to take this attempt over, budget clock included.
            // Secret values stay in the agent's environment only, never in files podium writes.
            var persisted = request
            for name in request.secretNames { persisted.env[name] = nil }
            let record = AttemptRecord(request: persisted, labels: labels, gpus: gpus, runtime: runtime.name,
                                       identity: handle.identity, startedAt: startedAt)
            if let data = try? JSONEncoder().encode(record) { writeDurably(layout.attemptFile, data) }
        }
        // The budget runs from the original start, also for an adopted attempt.
        let start = monotonicSeconds() - max(0, wallClockSeconds() - startedAt)
        defer { handle.cleanup() }

        // Secret values never reach the log file (so neither the coordinator's copy): masked as they are written.
        let log = CappedLog(path: layout.agentLog, capBytes: logCapBytes, append: adopting != nil,
                            secrets: request.secretNames.compactMap { request.env[$0] })
        // An adopted container's log stream replays from its start: skip what the previous daemon already wrote.
        let skip = Locked(adopting != nil ? log.size : 0)
        let logDone = Locked(false)
        // Bytes the output stream delivered (before the replay skip): what a final read of the stored output is
        // compared with.
        let received = Locked<Int64>(0)
        let runID = request.runID, epoch = request.epoch, emit = self.emit
        BlockingThread.start {
            do {
                try handle.followOutput { raw in
                    received.withLock { $0 += Int64(raw.count) }
                    var chunk = raw
                    let drop = skip.withLock { s -> Int in let d = min(Int(s), chunk.count); s -= Int64(d); return d }
                    if drop > 0 { chunk.removeFirst(drop) }
                    guard !chunk.isEmpty else { return }
                    // The bytes are in the file now; the (empty) log reply only wakes the attempt's follower, which
                    // reads the file and sends it.
                    if let offset = log.append(chunk) { emit(.log(runID: runID, epoch: epoch, offset: offset, data: Data())) }
                }
            } catch {
                if let offset = log.append(Array("\n[podium: log stream broke off: \(error)]\n".utf8)) {
                    emit(.log(runID: runID, epoch: epoch, offset: offset, data: Data()))
                }
            }
            logDone.withLock { $0 = true }
        }

        var snapshots = Snapshotter(layout: layout)
        let interval = Double(max(1, request.snapshotIntervalSeconds))
        var nextSnapshot = interval * ((monotonicSeconds() - start) / interval).rounded(.down) + interval
        var termSentAt: Double?
        var killSent = false
        var cancelledRun = false
        var pollFailures = 0
        var status: ExitStatus?
        while status == nil {
            sleepSeconds(0.25)
            let elapsed = monotonicSeconds() - start
            do {
                status = try handle.poll()
                pollFailures = 0
            } catch {
                pollFailures += 1
                if pollFailures >= 40 {
                    return infra("lost the runtime while supervising: \(error)", elapsed: elapsed, logBytes: log.size)
                }
            }
            if status != nil { break }
            if elapsed >= nextSnapshot {
                if let s = snapshots.capture(elapsed: elapsed) { emit(.snapshot(runID: runID, epoch: epoch, info: s)) }
                nextSnapshot += interval
            }
            let wantStop = cancelled.withLock { $0 }
            if termSentAt == nil && (elapsed >= Double(request.budgetSeconds) || wantStop) {
                cancelledRun = wantStop && elapsed < Double(request.budgetSeconds)
                try? handle.signal("SIGTERM")
                termSentAt = elapsed
            } else if let t = termSentAt, !killSent, elapsed - t >= Double(request.graceSeconds) || killRequested.withLock({ $0 }) {
                try? handle.signal("SIGKILL")
                killSent = true
            }
        }
        let elapsed = monotonicSeconds() - start
        // The log stream ends when the agent's output closes; give it a moment to drain.
        let drainUntil = monotonicSeconds() + 10
        while !logDone.withLock({ $0 }) && monotonicSeconds() < drainUntil { sleepSeconds(0.05) }
        // A follow stream may close before the engine delivered the last bytes of a fast agent: what it stored beyond
        // what the stream gave is appended now, so the log is whole (never silently truncated).
        if logDone.withLock({ $0 }), let rest = handle.outputAfter(received.withLock { $0 }), !rest.isEmpty {
            let dropped = skip.withLock { s -> Int in let d = min(Int(s), rest.count); s -= Int64(d); return d }
            if dropped < rest.count, let offset = log.append(Array(rest[dropped...])) {
                emit(.log(runID: runID, epoch: epoch, offset: offset, data: Data()))
            }
        }
        if let offset = log.flush() { emit(.log(runID: runID, epoch: epoch, offset: offset, data: Data())) }
        if let s = snapshots.capture(elapsed: elapsed) { emit(.snapshot(runID: runID, epoch: epoch, info: s)) }

        let exit = status!
        if let why = exit.infraReason, !cancelledRun {
            return infra(why, elapsed: elapsed, logBytes: log.size)
        }
        let outcome: AttemptOutcome
        var message: String?
        if cancelledRun {
            outcome = .cancelled
            message = request.sweep == "adhoc" ? "stopped by a signal" : "cancelled by the coordinator"
        } else if exit.oomKilled {
            outcome = .oomKilled
            message = "killed by the kernel's OOM killer (memory limit \(request.memoryBytes) bytes)"
        } else if termSentAt != nil {
            outcome = .timedOut
            message = "stopped at its budget of \(request.budgetSeconds) s" + (killSent ? " (ignored SIGTERM; SIGKILL after \(request.graceSeconds) s)" : "")
        } else if exit.exitCode == 0 {
            outcome = .completed
        } else {
            outcome = .agentError
            message = "agent exited with status \(exit.exitCode)"
        }
        var result = AttemptResult(outcome: outcome, exitCode: exit.exitCode, elapsedSeconds: elapsed, message: message,
                                   snapshots: snapshots.taken, submissionSHA256: SHA256.hex(fileAt: layout.submissionFile),
                                   logBytes: log.size, gpus: gpus.map(\.uuid))
        result.imageDigest = handle.imageDigest
        let models = Set(gpus.filter { !$0.standIn }.map(\.name))
        result.gpuModel = models.count == 1 ? models.first : models.isEmpty ? nil : models.sorted().joined(separator: " + ")
        // A node whose disk filled up did not give the agent its fair run: that failure is the node's (infra, retried
        // elsewhere), and the node reports itself full so it gets no more work.
        if outcome != .cancelled, let free = freeBytes(layout.root), free < RunSupervisor.diskFullThreshold {
            result.outcome = .infraError
            result.message = "the node's disk is full (\(free) bytes free in its work directory)" + (message.map { "; the agent: \($0)" } ?? "")
            result.nodeDiskFull = true
        }
        return result
    }
}

extension RunSupervisor {
    /// Below this much free space in the work directory's filesystem, a node counts as full.
    static let diskFullThreshold: Int64 = 1 << 20
}

/// Free bytes (for unprivileged writers) on the filesystem holding `path`.
func freeBytes(_ path: String) -> Int64? {
    var st = statvfs()
    guard statvfs(path, &st) == 0 else { return nil }
    return Int64(st.f_bavail) * Int64(st.f_frsize)
}

/// The agent's log file on the node, with a size cap and a clear truncation marker.
final class CappedLog: @unchecked Sendable {
    private let fd: Int32
    private let cap: Int64
    private var state = Locked<(size: Int64, truncated: Bool, pending: [UInt8])>((0, false, []))
    /// Secret values to mask (each byte becomes '*', so offsets stay those of the agent's output).
    private let secrets: [[UInt8]]
    private let hold: Int

    init(path: String, capBytes: Int64, append: Bool = false, secrets: [String] = []) {
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0o644)
        cap = capBytes
        // Very short values would mask ordinary text; secrets are tokens and keys.
        self.secrets = secrets.filter { $0.utf8.count >= 4 }.map { Array($0.utf8) }
        hold = max(0, (self.secrets.map(\.count).max() ?? 0) - 1)
        if append && fd >= 0 { state.withLock { $0.size = Int64(lseek(fd, 0, SEEK_END)) } }
    }
    deinit { if fd >= 0 { close(fd) } }

    var size: Int64 { state.withLock { $0.size } }

    /// Masks every secret occurrence in `buf`.
    private func mask(_ buf: inout [UInt8]) {
        for s in secrets where buf.count >= s.count {
            var i = 0
            let first = s[0]
            while i + s.count <= buf.count {
                if buf[i] == first && buf[i..<(i + s.count)].elementsEqual(s) {
                    for k in i..<(i + s.count) { buf[k] = 0x2A }
                    i += s.count
                } else {
                    i += 1
                }
            }
        }
    }

    /// Writes the bytes held back for masking (at the end of the output); returns where they start.
    @discardableResult
    func flush() -> Int64? {
        guard hold > 0 else { return nil }
        let rest = state.withLock { st -> [UInt8] in let p = st.pending; st.pending = []; return p }
        return rest.isEmpty ? nil : writeOut(rest)
    }

    /// Appends what fits under the cap (then the marker, once); returns the offset where the written bytes start, nil
    /// when nothing was written. With secrets, the last (longest secret − 1) bytes wait for the next chunk, so a secret
    /// split across two chunks is still masked before anything of it reaches the disk.
    func append(_ chunk: [UInt8]) -> Int64? {
        guard hold > 0 else { return writeOut(chunk) }
        let ready = state.withLock { st -> [UInt8] in
            var buf = st.pending + chunk
            mask(&buf)
            let keep = min(hold, buf.count)
            st.pending = Array(buf.suffix(keep))
            return Array(buf.prefix(buf.count - keep))
        }
        return ready.isEmpty ? nil : writeOut(ready)
    }

    private func writeOut(_ chunk: [UInt8]) -> Int64? {
        state.withLock { st in
            guard !st.truncated, fd >= 0 else { return nil }
            var out = chunk
            if st.size + Int64(out.count) > cap {
                out = Array(out.prefix(Int(max(0, cap - st.size))))
                out += Array("\n[podium: log truncated at \(cap) bytes; further output was discarded]\n".utf8)
                st.truncated = true
            }
            var done = 0
            while done < out.count {
                guard let w = try? out.withUnsafeBytes({ b in try retryingEINTR("write") { write(fd, b.baseAddress! + done, b.count - done) } }),
                      w > 0 else { break }
                done += w
            }
            let offset = st.size
            st.size += Int64(done)
            return done > 0 ? offset : nil
        }
    }
}

/// Copies `submission.csv` into `snapshots/` whenever its content changed, stamped with elapsed seconds.
struct Snapshotter {
    let layout: AttemptLayout
    var lastHash: String?
    var taken: [SnapshotInfo] = []

    /// Picks up the snapshots already taken (by a previous daemon, for an adopted attempt).
    init(layout: AttemptLayout) {
        self.layout = layout
        let fm = FileManager.default
        for name in ((try? fm.contentsOfDirectory(atPath: layout.snapshotsDir)) ?? []).sorted() where name.hasPrefix("t") {
            guard let data = fm.contents(atPath: layout.snapshotsDir + "/" + name), let t = Double(name.dropFirst().prefix(7)) else { continue }
            let sha = SHA256.hex(Array(data))
            taken.append(SnapshotInfo(elapsedSeconds: t, sha256: sha, bytes: Int64(data.count)))
            lastHash = sha
        }
    }

    mutating func capture(elapsed: Double) -> SnapshotInfo? {
        guard let data = FileManager.default.contents(atPath: layout.submissionFile) else { return nil }
        let hash = SHA256.hex(Array(data))
        guard hash != lastHash else { return nil }
        let name = Snapshotter.fileName(elapsed: elapsed)
        guard FileManager.default.createFile(atPath: layout.snapshotsDir + "/" + name, contents: data) else { return nil }
        lastHash = hash
        let info = SnapshotInfo(elapsedSeconds: (elapsed * 10).rounded() / 10, sha256: hash, bytes: Int64(data.count))
        taken.append(info)
        return info
    }

    static func fileName(elapsed: Double) -> String {
        "t" + String(Int(elapsed.rounded())).leftPadded(7) + ".csv"
    }
}

/// Best effort: a result or record that cannot be written shows up as a missing file, which recovery handles.
func writeDurably(_ path: String, _ data: Data) {
    try? data.withUnsafeBytes { try writeFileDurably(path, $0) }
}
