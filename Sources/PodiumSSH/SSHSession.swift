#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
internal import CLibSSH2
import PodiumCore
import PodiumSystem

/// One SSH connection. libssh2's rule is that a session and its channels are used by one thread at a time, so every
/// libssh2 call after the handshake happens on the session's own I/O thread, which multiplexes all channels in
/// non-blocking mode with poll(2). Each exec channel is bridged to a local socket: callers read the remote stdout
/// and write its stdin through an ordinary file descriptor, and backpressure is the socket's (a slow reader stops
/// reading the channel, the SSH window fills, the remote writer blocks).
public final class SSHSession: @unchecked Sendable {
    public let target: SSHTarget
    /// OpenSSH-style fingerprint of the verified host key.
    public private(set) var hostKeyFingerprint = ""
    private let session: OpaquePointer
    private let sock: Int32
    private var wakeFDs: [Int32] = [-1, -1]
    private let pending = Locked<[PendingExec]>([])
    private let failure = Locked<SSHError?>(nil)
    private let closing = Locked(false)
    private let loopDone = Locked(false)
    // I/O thread only:
    private var bridges: [Bridge] = []
    private var lastHeard = monotonicSeconds()

    /// libssh2 set up once per process; also SIGPIPE ignored, so writing to a channel's local socket after the peer
    /// went away gives EPIPE to the writer instead of killing the process (whichever command uses SSH).
    private static let initialized: Int32 = { signal(SIGPIPE, SIG_IGN); return libssh2_init(0) }()

    /// The receive window we grant per channel: 2 MiB, OpenSSH's own default. A larger one (16 MiB was tried) lets
    /// OpenSSH's sshd queue up to the whole window in one channel buffer whenever we read slower than it sends, and
    /// sshd then reallocates and copies that multi-megabyte buffer for every 32 KiB packet (mmap/munmap per packet in
    /// strace, sshd at 100% CPU, the log stream down to ~5 MB/s for seconds).
    static let channelWindow: UInt32 = max(256 << 10, ProcessInfo.processInfo.environment["PODIUM_SSH_WINDOW"].flatMap { UInt32($0) } ?? (2 << 20))

    /// Connects, verifies the host key, authenticates, and starts the I/O thread. Blocking (bounded by the target's timeouts).
    public init(target: SSHTarget) throws {
        guard SSHSession.initialized == 0 else { throw SSHError(.connect, doing: "initialising libssh2", message: "libssh2_init failed") }
        self.target = target
        sock = try SSHSession.connectSocket(target)
        guard let s = libssh2_session_init_ex(nil, nil, nil, nil) else {
            close(sock)
            throw SSHError(.connect, doing: "creating an SSH session", message: "libssh2_session_init failed")
        }
        session = s
        do {
            libssh2_session_set_blocking(session, 1)
            libssh2_session_set_timeout(session, Int(target.operationTimeout * 1000))
            // Throughput: AES-128-CTR (AES-NI) first; libssh2 1.10 has no chacha20/AES-GCM. MACs keep libssh2's order.
            for m in [LIBSSH2_METHOD_CRYPT_CS, LIBSSH2_METHOD_CRYPT_SC] {
                _ = libssh2_session_method_pref(session, m, "aes128-ctr,aes192-ctr,aes256-ctr")
            }
            let rc = libssh2_session_handshake(session, sock)
            if rc != 0 { throw SSHError.libssh2(.connect, session, doing: "SSH handshake with \(target.host):\(target.port)", code: rc) }
            try HostKeys.verify(session: session, target: target)
            var len = 0
            var type: Int32 = 0
            if let raw = libssh2_session_hostkey(session, &len, &type) {
                hostKeyFingerprint = HostKeys.fingerprint(Array(UnsafeRawBufferPointer(start: raw, count: len).bindMemory(to: UInt8.self)))
            }
            try authenticate()
            libssh2_keepalive_config(session, 1, UInt32(max(1, target.keepaliveInterval)))
            guard pipe(&wakeFDs) == 0 else { throw SSHError(.io, doing: "creating the wake pipe", message: SystemError.text(errno)) }
            for fd in wakeFDs { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        } catch {
            libssh2_session_free(session)
            close(sock)
            throw error
        }
        BlockingThread.start { [self] in runLoop() }
    }

    deinit {
        if wakeFDs[0] >= 0 { close(wakeFDs[0]); close(wakeFDs[1]) }
    }

    // MARK: public API

    /// Why the session ended, once it has.
    public var error: SSHError? { failure.withLock { $0 } }

    /// Runs `command` on the remote host. Returns when the channel is open and the command started.
    /// `stderrPath`: a local file that receives the remote stderr (appended); nil discards it.
    /// `stdoutSink`: receives the remote stdout on the session's I/O thread instead of `fd` (which then only carries
    /// stdin and the end of output): no socket hop for bulk data. It must be quick (it holds up every channel of the
    /// session); returning false drops the rest of the output (the channel still runs to its end).
    public func exec(_ command: String, stderrPath: String? = nil,
                     stdoutSink: ((UnsafeRawBufferPointer) -> Bool)? = nil) throws -> SSHExec {
        if let e = error { throw e }
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0 else {
            throw SSHError(.io, doing: "exec \(command)", message: "socketpair: \(SystemError.text(errno))")
        }
        for fd in pair {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            // Deeper socket buffers between the I/O thread and the caller: fewer wake-ups per MiB.
            var size: Int32 = 4 << 20
            setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        _ = fcntl(pair[1], F_SETFL, fcntl(pair[1], F_GETFL) | O_NONBLOCK)
        let stderrFD = stderrPath.map { open($0, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644) } ?? -1
        let exec = SSHExec(fd: pair[0], command: command)
        let p = PendingExec(command: command, localFD: pair[1], stderrFD: stderrFD, exec: exec, sink: stdoutSink)
        pending.withLock { $0.append(p) }
        wake()
        // If the I/O thread has already ended, nobody will open the channel: fail instead of waiting forever.
        try exec.waitStarted { [self] in loopDone.withLock { $0 } ? (error ?? SSHError(.closed, doing: "exec", message: "the session has ended")) : nil }
        return exec
    }

    /// Runs a command to completion; returns its exit status, stdout and (when `stderrPath` is nil) nothing of stderr.
    public func run(_ command: String, input: [UInt8] = [], timeout: Double = 60) throws -> (status: Int32, output: [UInt8]) {
        let e = try exec(command)
        let writer = e
        BlockingThread.start {
            if !input.isEmpty { writer.writeAll(input) }
            writer.closeWrite()
        }
        let out = e.readAll()
        guard let status = e.waitExit(timeout: timeout) else {
            throw error ?? SSHError(.timeout, doing: "running \(command)", message: "no exit status within \(Int(timeout)) s")
        }
        return (status, out)
    }

    /// Closes every channel and the connection.
    public func disconnect() {
        closing.withLock { $0 = true }
        wake()
        let until = monotonicSeconds() + 5
        while !loopDone.withLock({ $0 }) && monotonicSeconds() < until { sleepSeconds(0.01) }
    }

    // MARK: connect and authenticate

    private static func connectSocket(_ t: SSHTarget) throws -> Int32 {
        let doing = "connecting to \(t.host):\(t.port)"
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var res: UnsafeMutablePointer<addrinfo>?
        let gai = getaddrinfo(t.host, String(t.port), &hints, &res)
        guard gai == 0, let first = res else {
            throw SSHError(.connect, doing: doing, message: "cannot resolve \(t.host): \(String(cString: gai_strerror(gai)))")
        }
        defer { freeaddrinfo(res) }
        var lastError = "no address"
        var ai: UnsafeMutablePointer<addrinfo>? = first
        while let a = ai {
            defer { ai = a.pointee.ai_next }
            let fd = socket(a.pointee.ai_family, a.pointee.ai_socktype, a.pointee.ai_protocol)
            if fd < 0 { lastError = SystemError.text(errno); continue }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            let flags = fcntl(fd, F_GETFL)
            _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            if Glibc.connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) != 0 && errno != EINPROGRESS {
                lastError = SystemError.text(errno); close(fd); continue
            }
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&p, 1, Int32(t.connectTimeout * 1000))
            var err: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
            if ready == 1 && err == 0 {
                _ = fcntl(fd, F_SETFL, flags)
                return fd
            }
            lastError = ready == 0 ? "timed out after \(Int(t.connectTimeout)) s" : SystemError.text(err)
            close(fd)
        }
        throw SSHError(lastError.hasPrefix("timed out") ? .timeout : .connect, doing: doing, message: lastError)
    }

    private func authenticate() throws {
        let doing = "authenticating as \(target.user) on \(target.host)"
        let user = target.user
        if let key = target.identityFile {
            guard FileManager.default.fileExists(atPath: key) else {
                throw SSHError(.config, doing: doing, message: "identity file \(key) does not exist")
            }
            let passphrase = target.passphraseEnv.flatMap { ProcessInfo.processInfo.environment[$0] }
            let rc = libssh2_userauth_publickey_fromfile_ex(session, user, UInt32(user.utf8.count), nil, key, passphrase)
            if rc != 0 { throw SSHError.libssh2(.auth, session, doing: "\(doing) with key \(key)", code: rc) }
            return
        }
        guard ProcessInfo.processInfo.environment["SSH_AUTH_SOCK"] != nil, let agent = libssh2_agent_init(session) else {
            throw SSHError(.auth, doing: doing, message: "no identity_file for this node and no ssh-agent (SSH_AUTH_SOCK) to ask")
        }
        defer { libssh2_agent_disconnect(agent); libssh2_agent_free(agent) }
        guard libssh2_agent_connect(agent) == 0, libssh2_agent_list_identities(agent) == 0 else {
            throw SSHError.libssh2(.auth, session, doing: "\(doing) via ssh-agent", code: -1)
        }
        var prev: UnsafeMutablePointer<libssh2_agent_publickey>?
        var identity: UnsafeMutablePointer<libssh2_agent_publickey>?
        while libssh2_agent_get_identity(agent, &identity, prev) == 0, let id = identity {
            if libssh2_agent_userauth(agent, user, id) == 0 { return }
            prev = id
        }
        throw SSHError(.auth, doing: doing, message: "ssh-agent has no key that \(target.host) accepts for \(user)")
    }

    // MARK: the I/O thread

    private func wake() {
        var b: UInt8 = 1
        _ = write(wakeFDs[1], &b, 1)
    }

    private func fail(_ e: SSHError) {
        failure.withLock { if $0 == nil { $0 = e } }
    }

    private func runLoop() {
        libssh2_session_set_blocking(session, 0)
        var buf = [UInt8](repeating: 0, count: 1 << 18)
        while true {
            if closing.withLock({ $0 }) { fail(SSHError(.closed, doing: "using the session", message: "closed")) }
            if failure.withLock({ $0 }) != nil { break }
            openPending()
            for b in bridges { pump(b, &buf) }
            bridges.removeAll { $0.finished }
            var nextKeepalive: Int32 = 0
            let kr = libssh2_keepalive_send(session, &nextKeepalive)
            if kr != 0 && kr != LIBSSH2_ERROR_EAGAIN {
                fail(SSHError.libssh2(.peerDead, session, doing: "sending a keepalive to \(target.host)", code: kr))
                break
            }
            // Poll: the socket in the directions libssh2 waits for (and inbound while a channel can take data),
            // every bridge's local end, and the wake pipe.
            let dirs = libssh2_session_block_directions(session)
            let wantsInbound = bridges.contains { $0.toLocal.isEmpty && !$0.remoteEOF } || (dirs & LIBSSH2_SESSION_BLOCK_INBOUND) != 0
            var fds = [pollfd(fd: wakeFDs[0], events: Int16(POLLIN), revents: 0)]
            var sockEvents: Int16 = 0
            if wantsInbound { sockEvents |= Int16(POLLIN) }
            if (dirs & LIBSSH2_SESSION_BLOCK_OUTBOUND) != 0 { sockEvents |= Int16(POLLOUT) }
            fds.append(pollfd(fd: sock, events: sockEvents, revents: 0))
            for b in bridges {
                var ev: Int16 = 0
                if b.toRemote.isEmpty && !b.localEOF { ev |= Int16(POLLIN) }
                if !b.toLocal.isEmpty { ev |= Int16(POLLOUT) }
                fds.append(pollfd(fd: b.localFD, events: ev, revents: 0))
            }
            if !wantsInbound && !bridges.isEmpty { lastHeard = monotonicSeconds() }  // busy consumers, not a silent peer
            // libssh2 may already hold decrypted data for a channel (read from the socket while we wrote another
            // channel's stdin or a window adjust): the socket will not wake us for it, so do not sleep then (a missed
            // wake-up stalled a log stream for a whole poll timeout).
            let buffered = bridges.contains { b in
                guard !b.remoteEOF && b.toLocal.isEmpty else { return false }
                var avail: UInt = 0
                _ = libssh2_channel_window_read_ex(b.channel, &avail, nil)
                return avail > 0
            }
            let timeoutMs: Int32 = buffered ? 0 : 1000
            let n = poll(&fds, nfds_t(fds.count), timeoutMs)
            if n < 0 && errno != EINTR { fail(SSHError(.io, doing: "poll", message: SystemError.text(errno))); break }
            if fds[0].revents != 0 { var drain = [UInt8](repeating: 0, count: 64); _ = read(wakeFDs[0], &drain, 64) }
            let sr = fds[1].revents
            if sr & Int16(POLLIN) != 0 { lastHeard = monotonicSeconds() }
            if sr & Int16(POLLERR | POLLHUP) != 0 && sr & Int16(POLLIN) == 0 {
                fail(SSHError(.peerDead, doing: "talking to \(target.host)", message: "the connection was closed"))
                break
            }
            if bridges.isEmpty { lastHeard = monotonicSeconds() }
            if monotonicSeconds() - lastHeard > target.deadAfter {
                fail(SSHError(.peerDead, doing: "talking to \(target.host)",
                              message: "no answer for \(Int(target.deadAfter)) s (keepalive every \(target.keepaliveInterval) s): the peer is dead or the connection half-open"))
                break
            }
        }
        teardown()
    }

    private func openPending() {
        let todo = pending.withLock { p -> [PendingExec] in let t = p; p.removeAll(); return t }
        guard !todo.isEmpty else { return }
        libssh2_session_set_blocking(session, 1)
        defer { libssh2_session_set_blocking(session, 0) }
        for p in todo {
            let doing = "opening a channel for `\(p.command)` on \(target.host)"
            guard let ch = libssh2_channel_open_ex(session, "session", 7, SSHSession.channelWindow, 32768, nil, 0) else {
                p.exec.started(error: SSHError.libssh2(.channel, session, doing: doing, code: libssh2_session_last_errno(session)))
                close(p.localFD); if p.stderrFD >= 0 { close(p.stderrFD) }
                continue
            }
            let rc = libssh2_channel_process_startup(ch, "exec", 4, p.command, UInt32(p.command.utf8.count))
            if rc != 0 {
                p.exec.started(error: SSHError.libssh2(.channel, session, doing: "starting `\(p.command)`", code: rc))
                libssh2_channel_free(ch)
                close(p.localFD); if p.stderrFD >= 0 { close(p.stderrFD) }
                continue
            }
            let bridge = Bridge(channel: ch, localFD: p.localFD, stderrFD: p.stderrFD, exec: p.exec)
            bridge.sink = p.sink
            bridges.append(bridge)
            p.exec.started(error: nil)
        }
    }

    /// Moves bytes both ways for one channel without blocking, and finishes it once the remote side is done.
    private func pump(_ b: Bridge, _ buf: inout [UInt8]) {
        // channel stdout → local: straight from the read buffer; only what the socket does not take is kept
        while !b.remoteEOF {
            if !b.toLocal.isEmpty { flushLocal(b); if !b.toLocal.isEmpty { break } }
            let n = buf.withUnsafeMutableBytes { libssh2_channel_read_ex(b.channel, 0, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count) }
            if n > 0, let sink = b.sink {
                if !b.sinkFailed && !buf.withUnsafeBytes({ sink(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }) { b.sinkFailed = true }
                continue
            }
            if n > 0 {
                var sent = 0
                while sent < n {
                    let w = buf.withUnsafeBytes { send(b.localFD, $0.baseAddress! + sent, n - sent, Int32(MSG_NOSIGNAL)) }
                    if w > 0 { sent += w; continue }
                    if w < 0 && errno == EINTR { continue }
                    break
                }
                if sent < n { b.toLocal.append(contentsOf: buf[sent..<n]) }
                continue
            }
            if n == Int(LIBSSH2_ERROR_EAGAIN) || n == 0 {
                if libssh2_channel_eof(b.channel) != 0 { b.remoteEOF = true }
                break
            }
            return broken(b, SSHError.libssh2(.io, session, doing: "reading from `\(b.exec.command)`", code: Int32(n)))
        }
        if !b.toLocal.isEmpty { flushLocal(b) }
        // channel stderr → file (or nowhere)
        while true {
            let n = buf.withUnsafeMutableBytes { libssh2_channel_read_ex(b.channel, SSH_EXTENDED_DATA_STDERR, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count) }
            if n <= 0 { break }
            if b.stderrFD >= 0 { _ = buf.withUnsafeBytes { write(b.stderrFD, $0.baseAddress, n) } }
        }
        // local → channel stdin. Never after our CLOSE: the peer may already have freed the channel, and OpenSSH
        // drops the whole connection on a message for a channel it does not know (a late caller-side close of its end
        // used to trigger an EOF here).
        if !b.eofSent && !b.closeSent {
            if b.toRemote.isEmpty && !b.localEOF {
                let n = buf.withUnsafeMutableBytes { read(b.localFD, $0.baseAddress, $0.count) }
                if n > 0 { b.toRemote.append(contentsOf: buf[0..<n]) } else if n == 0 || (errno != EAGAIN && errno != EINTR) { b.localEOF = true }
            }
            while !b.toRemote.isEmpty {
                let w = b.toRemote.withUnsafeBytes {
                    libssh2_channel_write_ex(b.channel, 0, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count)
                }
                if w > 0 { b.toRemote.removeFirst(w); continue }
                if w == Int(LIBSSH2_ERROR_EAGAIN) { break }
                return broken(b, SSHError.libssh2(.io, session, doing: "writing to `\(b.exec.command)`", code: Int32(w)))
            }
            if b.localEOF && b.toRemote.isEmpty && libssh2_channel_send_eof(b.channel) == 0 { b.eofSent = true }
        }
        // done: remote EOF seen and everything handed to the local side
        if b.remoteEOF && b.toLocal.isEmpty {
            if !b.localShut { shutdown(b.localFD, Int32(SHUT_WR)); b.localShut = true }
            if !b.closeSent {
                // libssh2_channel_close sends our EOF itself; once it has started (even if it returned EAGAIN), no EOF
                // of ours may follow — it could reach the peer after its channel is gone.
                b.eofSent = true
                let rc = libssh2_channel_close(b.channel)
                if rc == LIBSSH2_ERROR_EAGAIN { return }
                b.closeSent = true
            }
            let rc = libssh2_channel_wait_closed(b.channel)
            if rc == LIBSSH2_ERROR_EAGAIN { return }
            var status = libssh2_channel_get_exit_status(b.channel)
            // A command killed by a signal has no exit status (libssh2 then says 0, as for success): the peer names
            // the signal instead, and the status becomes the shell's 128 + its number.
            var name: UnsafeMutablePointer<CChar>?
            var nameLength = 0
            var signal: String?
            if libssh2_channel_get_exit_signal(b.channel, &name, &nameLength, nil, nil, nil, nil) == 0, let name {
                signal = String(decoding: UnsafeRawBufferPointer(start: name, count: nameLength), as: UTF8.self)
                libssh2_free(session, name)
                status = 128 + (SSHExec.signalNumbers[signal!] ?? 127)
            }
            libssh2_channel_free(b.channel)
            b.finish(status: status, signal: signal)
        }
    }

    private func flushLocal(_ b: Bridge) {
        while !b.toLocal.isEmpty {
            let w = b.toLocal.withUnsafeBytes { send(b.localFD, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if w > 0 { b.toLocal.removeFirst(w); continue }
            if w < 0 && (errno == EAGAIN || errno == EINTR) { return }
            // The caller closed its end: discard what it will never read, but keep the channel running to its end.
            b.toLocal.removeAll()
            b.localEOF = true
            return
        }
    }

    private func broken(_ b: Bridge, _ e: SSHError) {
        // A transport error ends the whole session, not only this channel.
        if let code = e.code, [LIBSSH2_ERROR_SOCKET_RECV, LIBSSH2_ERROR_SOCKET_SEND, LIBSSH2_ERROR_SOCKET_DISCONNECT].contains(code) {
            fail(SSHError(.peerDead, doing: "talking to \(target.host)", code: code, message: "the connection broke: \(e.message)"))
        }
        b.exec.setError(e)
        libssh2_channel_free(b.channel)
        b.finish(status: nil)
    }

    private func teardown() {
        let e = failure.withLock { $0 } ?? SSHError(.closed, doing: "using the session", message: "closed")
        for b in bridges {
            b.exec.setError(e)
            b.finish(status: nil)
        }
        bridges.removeAll()
        for p in pending.withLock({ p -> [PendingExec] in let t = p; p.removeAll(); return t }) {
            p.exec.started(error: e)
            close(p.localFD)
        }
        if e.kind == .closed {
            libssh2_session_set_blocking(session, 1)
            libssh2_session_set_timeout(session, 2000)
            libssh2_session_disconnect_ex(session, SSH_DISCONNECT_BY_APPLICATION, "podium closing", "")
        }
        libssh2_session_free(session)
        close(sock)
        loopDone.withLock { $0 = true }
    }
}

/// A command running on the remote host. Read its stdout and write its stdin through `fd`.
public final class SSHExec: @unchecked Sendable {
    /// Bidirectional: read = remote stdout (EOF when it ends), write = remote stdin.
    public let fd: Int32
    public let command: String
    private let state = Locked<(started: Bool, startError: SSHError?, exit: Int32?, signal: String?, done: Bool, error: SSHError?)>(
        (false, nil, nil, nil, false, nil))

    init(fd: Int32, command: String) { self.fd = fd; self.command = command }

    func started(error: SSHError?) { state.withLock { $0.started = true; $0.startError = error } }
    func setError(_ e: SSHError) { state.withLock { if $0.error == nil { $0.error = e } } }
    func finished(status: Int32?, signal: String?) { state.withLock { $0.exit = status; $0.signal = signal; $0.done = true } }

    func waitStarted(abort: () -> SSHError?) throws {
        while true {
            let s = state.withLock { $0 }
            if s.started { if let e = s.startError { Glibc.close(fd); throw e }; return }
            if let e = abort() { Glibc.close(fd); throw e }
            sleepSeconds(0.002)
        }
    }

    /// The remote exit status, once the command ended (nil if the connection broke first, or on timeout); 128 + the
    /// signal's number when a signal killed it (`exitSignal` names it), as a shell reports it — never 0.
    public func waitExit(timeout: Double) -> Int32? {
        let until = monotonicSeconds() + timeout
        while monotonicSeconds() < until {
            let s = state.withLock { $0 }
            if s.done { return s.exit }
            sleepSeconds(0.005)
        }
        return nil
    }

    /// The signal that killed the remote command ("TERM", "KILL", …), when one did.
    public var exitSignal: String? { state.withLock { $0.signal } }

    /// Signal names as SSH carries them (RFC 4254 §6.10, without "SIG") → this system's numbers; others count as 127.
    static let signalNumbers: [String: Int32] = ["HUP": SIGHUP, "INT": SIGINT, "QUIT": SIGQUIT, "ILL": SIGILL, "ABRT": SIGABRT,
                                                  "FPE": SIGFPE, "KILL": SIGKILL, "USR1": SIGUSR1, "SEGV": SIGSEGV,
                                                  "USR2": SIGUSR2, "PIPE": SIGPIPE, "ALRM": SIGALRM, "TERM": SIGTERM]

    /// Why the channel broke, if it did.
    public var error: SSHError? { state.withLock { $0.error } }

    /// Signals EOF on the remote stdin.
    public func closeWrite() { shutdown(fd, Int32(SHUT_WR)) }

    public func writeAll(_ bytes: [UInt8]) {
        var done = 0
        while done < bytes.count {
            guard let w = try? retryingEINTR("send", { bytes.withUnsafeBytes { send(fd, $0.baseAddress! + done, bytes.count - done, Int32(MSG_NOSIGNAL)) } }),
                  w > 0 else { return }
            done += w
        }
    }

    /// Reads remote stdout to its end.
    public func readAll() -> [UInt8] {
        var out = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            guard let n = try? buf.withUnsafeMutableBytes({ b in try retryingEINTR("read") { read(fd, b.baseAddress, b.count) } }), n > 0 else { break }
            out += buf[0..<n]
        }
        return out
    }

    /// Closes the local end (after reading what is needed).
    public func close() { Glibc.close(fd) }
}

struct PendingExec {
    let command: String
    let localFD: Int32
    let stderrFD: Int32
    let exec: SSHExec
    let sink: ((UnsafeRawBufferPointer) -> Bool)?
}

/// State of one channel on the I/O thread.
final class Bridge {
    let channel: OpaquePointer
    let localFD: Int32
    let stderrFD: Int32
    let exec: SSHExec
    var toLocal: [UInt8] = []
    var toRemote: [UInt8] = []
    var localEOF = false
    var eofSent = false
    var remoteEOF = false
    var localShut = false
    var closeSent = false
    var finished = false
    var sink: ((UnsafeRawBufferPointer) -> Bool)?
    var sinkFailed = false

    init(channel: OpaquePointer, localFD: Int32, stderrFD: Int32, exec: SSHExec) {
        self.channel = channel; self.localFD = localFD; self.stderrFD = stderrFD; self.exec = exec
    }

    func finish(status: Int32?, signal: String? = nil) {
        guard !finished else { return }
        finished = true
        close(localFD)
        if stderrFD >= 0 { close(stderrFD) }
        exec.finished(status: status, signal: signal)
    }
}
