#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A child process started with posix_spawn, with optional pipes to its stdin and stdout.
/// Reaped only through `poll()`/`wait(timeout:)`: one child-reaping mechanism per process.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    /// Write end of the child's stdin, when `stdinPipe` was asked for.
    public let stdinFD: Int32
    /// Read end of the child's stdout (and stderr when merged), when `stdoutPipe` was asked for.
    public let stdoutFD: Int32
    let processGroup: Bool
    private let exitStatus = Locked<Int32?>(nil)

    public enum StandardError: Sendable {
        case inherit
        /// Appended to a file.
        case file(String)
        /// Into the same pipe as stdout.
        case stdout
    }

    public struct SpawnError: Error, CustomStringConvertible {
        public var description: String
    }

    /// - Parameters:
    ///   - environment: the child's whole environment; nil inherits this process's.
    ///   - newProcessGroup: the child leads its own process group, so `signal` reaches everything it started.
    public init(arguments: [String], environment: [String: String]? = nil, workingDirectory: String? = nil,
                stdinPipe: Bool = true, stdoutPipe: Bool = true, stderr: StandardError = .inherit,
                newProcessGroup: Bool = false, newSession: Bool = false) throws {
        guard !arguments.isEmpty else { throw SpawnError(description: "no command to start") }
        // posix_spawn_file_actions_addchdir_np is not visible to Swift here; a tiny sh trampoline changes directory.
        let arguments = workingDirectory.map { ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", $0] + arguments } ?? arguments
        let exe = arguments[0]
        var inPipe: [Int32] = [-1, -1], outPipe: [Int32] = [-1, -1]
        if stdinPipe { guard pipe(&inPipe) == 0 else { throw SpawnError(description: SystemError("pipe", errno: errno).description) } }
        if stdoutPipe { guard pipe(&outPipe) == 0 else { throw SpawnError(description: SystemError("pipe", errno: errno).description) } }
        // Close-on-exec so other children never inherit these ends; dup2 clears it on the child's copies.
        for fd in inPipe + outPipe where fd >= 0 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if stdinPipe { posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0) } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        if stdoutPipe { posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1) }
        switch stderr {
        case .inherit: break
        case .file(let path): posix_spawn_file_actions_addopen(&actions, 2, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        case .stdout: if stdoutPipe { posix_spawn_file_actions_adddup2(&actions, outPipe[1], 2) }
        }

        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        // The child starts with an empty signal mask and default handlers, whatever this process blocked or ignored.
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGPIPE, SIGTERM, SIGINT, SIGHUP] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attr, &defaults)
        var flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        if newProcessGroup {
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
            posix_spawnattr_setpgroup(&attr, 0)
        }
        // POSIX_SPAWN_SETSID (glibc ≥ 2.26; not imported into Swift): the child leads a new session, detached from
        // this terminal's signals (a daemon).
        if newSession { flags |= 0x80 }
        posix_spawnattr_setflags(&attr, Int16(flags))

        var cargs: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for p in cargs { free(p) } }
        var pid: pid_t = 0
        let rc: Int32
        if let environment {
            var cenv: [UnsafeMutablePointer<CChar>?] = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
            defer { for p in cenv { free(p) } }
            rc = posix_spawnp(&pid, exe, &actions, &attr, &cargs, &cenv)
        } else {
            rc = posix_spawnp(&pid, exe, &actions, &attr, &cargs, environ)
        }
        if stdinPipe { close(inPipe[0]) }
        if stdoutPipe { close(outPipe[1]) }
        guard rc == 0 else {
            if stdinPipe { close(inPipe[1]) }
            if stdoutPipe { close(outPipe[0]) }
            throw SpawnError(description: "cannot start \(exe): \(SystemError("posix_spawn", errno: rc).reason)")
        }
        self.pid = pid
        self.processGroup = newProcessGroup
        stdinFD = inPipe[1]
        stdoutFD = outPipe[0]
    }

    /// Closes the child's stdin (it sees EOF).
    public func closeInput() { if stdinFD >= 0 { close(stdinFD) } }

    /// Sends a signal to the child, or to its whole process group when it leads one.
    public func signal(_ sig: Int32) {
        // A group id is never reused while members remain, so the group may be signalled after its leader ended;
        // a lone child's pid may be reused once reaped, so it is not.
        if processGroup { kill(-pid, sig); return }
        guard exitStatus.withLock({ $0 }) == nil else { return }
        kill(pid, sig)
    }

    /// The exit code once the child has ended (128 + signal number when a signal ended it), else nil.
    public func poll() -> Int32? {
        exitStatus.withLock { status in
            if let status { return status }
            var raw: Int32 = 0
            let r = waitpid(pid, &raw, WNOHANG)
            guard r == pid else { return nil }
            status = ChildProcess.decode(raw)
            return status
        }
    }

    /// Waits for the child to exit, up to `timeout` seconds, then SIGKILLs it. Returns its exit code.
    @discardableResult
    public func wait(timeout: Double) -> Int32 {
        let until = monotonicSeconds() + timeout
        while true {
            if let s = poll() { return s }
            if monotonicSeconds() > until {
                signal(SIGKILL)
                while true { if let s = poll() { return s }; sleepSeconds(0.01) }
            }
            sleepSeconds(0.05)
        }
    }

    /// waitpid status → exit code (the WIFEXITED/WTERMSIG macros are not imported into Swift).
    static func decode(_ raw: Int32) -> Int32 {
        let sig = raw & 0x7f
        return sig == 0 ? (raw >> 8) & 0xff : 128 + sig
    }

    /// Runs a command to completion and returns its exit code and stdout (stderr discarded); nil if it cannot start.
    public static func capture(_ arguments: [String], timeout: Double = 30) -> (code: Int32, output: String)? {
        guard let child = try? ChildProcess(arguments: arguments, stdinPipe: false, stdoutPipe: true, stderr: .file("/dev/null")) else {
            return nil
        }
        var out = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 65536)
        while let n = try? buf.withUnsafeMutableBytes({ b in try retryingEINTR("read") { read(child.stdoutFD, b.baseAddress, b.count) } }), n > 0 {
            out += buf[0..<n]
        }
        close(child.stdoutFD)
        let code = child.wait(timeout: timeout)
        return (code, String(decoding: out, as: UTF8.self))
    }
}
