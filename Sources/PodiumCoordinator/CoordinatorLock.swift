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

/// One coordinator per state file: an exclusive `flock` on `<state>.lock`, held for as long as `podium sweep` runs,
/// so two coordinators never dispatch the same runs. Operator commands use it to tell whether a coordinator is live.
public final class CoordinatorLock: @unchecked Sendable {
    let fd: Int32

    private init(fd: Int32) { self.fd = fd }
    deinit { close(fd) }

    public static func path(forState state: String) -> String { state + ".lock" }

    /// The lock, or nil when another process holds it (`holder` then says which pid, if it wrote one).
    public static func acquire(statePath: String) throws -> CoordinatorLock? {
        let p = path(forState: statePath)
        let fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SystemError("open", path: p, errno: errno) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            return nil
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.utf8CString.withUnsafeBufferPointer { pwrite(fd, $0.baseAddress, pid.utf8.count, 0) }
        return CoordinatorLock(fd: fd)
    }

    /// Whether a coordinator holds the lock now (probes without writing the pid file).
    public static func isHeld(statePath: String) -> Bool {
        let fd = open(path(forState: statePath), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return true }
        flock(fd, LOCK_UN)
        return false
    }

    /// The pid written by the process holding the lock (best effort).
    public static func holder(statePath: String) -> String? {
        guard let text = try? String(contentsOfFile: path(forState: statePath), encoding: .utf8) else { return nil }
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return t.isEmpty ? nil : t
    }
}
