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

/// SHA-256 of a log's first `bytes` bytes.
struct LogDigest {
    var hasher = SHA256()
    var bytes: Int64 = 0
}

/// Sends one live attempt's agent.log to the coordinator from the file on disk, on its own thread: at most 1 MiB in
/// flight per attempt, at whatever pace the connection allows, resuming from where the coordinator says it stands.
final class LogFollower: @unchecked Sendable {
    let path: String
    let sweep: String
    let runID: String
    let epoch: Int
    weak var server: WorkerServer?
    private let offset: Locked<Int64>
    /// Hash of the prefix read so far, kept while reads go forward from byte 0 without a gap (follower thread only).
    private var hashed: LogDigest?
    private let finalDigest = Locked<LogDigest?>(nil)
    /// The prefix hash once the follower has finished, if it covered the log from its start.
    var digest: LogDigest? { finalDigest.withLock { $0 } }
    private let signal = BlockingQueue<Bool>()
    private let finished = Locked(false)
    private let drained = Locked(false)

    init(path: String, sweep: String, runID: String, epoch: Int, from: Int64, server: WorkerServer) {
        self.path = path; self.sweep = sweep; self.runID = runID; self.epoch = epoch; self.server = server
        offset = Locked(from)
        hashed = from == 0 ? LogDigest() : nil
    }

    func wake() { signal.push(true) }

    func reposition(_ from: Int64) {
        offset.withLock { $0 = from }
        wake()
    }

    /// Waits (bounded) until everything written so far went out, or the coordinator is not there to take it.
    func finish(timeout: Double) {
        finished.withLock { $0 = true }
        wake()
        let until = monotonicSeconds() + timeout
        while !drained.withLock({ $0 }) && monotonicSeconds() < until { sleepSeconds(0.02) }
    }

    func start() {
        BlockingThread.start { [self] in
            var buf = [UInt8](repeating: 0, count: 1 << 20)
            var fd: Int32 = -1
            defer {
                if fd >= 0 { close(fd) }
                finalDigest.withLock { $0 = hashed }
                drained.withLock { $0 = true }
            }
            while true {
                _ = signal.pop(timeout: 0.5)
                while signal.pop(timeout: 0) != nil {}
                let done = finished.withLock { $0 }
                if fd < 0 { fd = open(path, O_RDONLY | O_CLOEXEC) }
                guard let server, fd >= 0 else { if done { return }; continue }
                var sentAll = true
                while true {
                    let from = offset.withLock { $0 }
                    let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(from)) }
                    if n <= 0 { break }
                    if hashed?.bytes == from {
                        hashed!.hasher.update(buf[0..<n])
                        hashed!.bytes += Int64(n)
                    }
                    let sent = buf.withUnsafeBytes { server.sendLog(sweep: sweep, runID: runID, epoch: epoch, offset: from, bytes: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                    guard sent else {
                        sentAll = false
                        break
                    }
                    offset.withLock { if $0 == from { $0 = from + Int64(n) } }
                }
                if done && (sentAll || !server.isConnected(sweep)) { return }
            }
        }
    }
}
