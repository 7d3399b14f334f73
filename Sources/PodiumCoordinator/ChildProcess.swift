#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import PodiumCore

/// A child process with pipes to its stdin and stdout (posix_spawn; stderr goes to a file).
/// Reaped by `wait()`; one child-reaping mechanism per process: only this type calls waitpid.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    public let stdinFD: Int32
    public let stdoutFD: Int32

    public struct SpawnError: Error, CustomStringConvertible {
        public var description: String
    }

    public init(arguments: [String], stderrPath: String?) throws {
        guard let exe = arguments.first else { throw SpawnError(description: "no command to start") }
        var inPipe: [Int32] = [0, 0], outPipe: [Int32] = [0, 0]
        guard pipe(&inPipe) == 0, pipe(&outPipe) == 0 else {
            throw SpawnError(description: "pipe: \(String(cString: strerror(errno)))")
        }
        // Close-on-exec so other children (other nodes' workers) never inherit these ends; dup2 clears it in the child.
        for fd in inPipe + outPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        if let stderrPath {
            posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        }
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        // The child starts with default signal handling and an empty mask, whatever the coordinator blocked.
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        sigaddset(&defaults, SIGTERM)
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var cargs: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for p in cargs { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, exe, &actions, &attr, &cargs, environ)
        close(inPipe[0])
        close(outPipe[1])
        guard rc == 0 else {
            close(inPipe[1]); close(outPipe[0])
            throw SpawnError(description: "cannot start \(exe): \(String(cString: strerror(rc)))")
        }
        self.pid = pid
        stdinFD = inPipe[1]
        stdoutFD = outPipe[0]
    }

    /// Closes the child's stdin (it sees EOF and ends).
    public func closeInput() { close(stdinFD) }

    /// Waits for the child to exit, up to `timeout` seconds, then SIGKILLs it. Returns its exit status.
    @discardableResult
    public func wait(timeout: Double) -> Int32 {
        let until = monotonicSeconds() + timeout
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { return status }
            if r < 0 { return -1 }
            if monotonicSeconds() > until {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                return status
            }
            sleepSeconds(0.05)
        }
    }
}
