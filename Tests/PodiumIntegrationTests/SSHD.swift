import XCTest
import PodiumCore
import PodiumSSH
#if canImport(Glibc)
import Glibc
#endif
import PodiumSystem

/// A real OpenSSH sshd on loopback, started by the tests with generated host and user keys.
final class TestSSHD {
    let dir: String
    let port: Int
    let user: String
    var process: ChildProcess
    var hostKeyPub: String { dir + "/host_ed25519.pub" }
    var userKey: String { dir + "/user_ed25519" }
    var knownHosts: String { dir + "/known_hosts" }

    static var available: Bool { FileManager.default.isExecutableFile(atPath: "/usr/sbin/sshd") }

    init() throws {
        guard TestSSHD.available else { throw XCTSkip("no /usr/sbin/sshd (apt-get install openssh-server)") }
        dir = makeTempDir("sshd")
        user = ChildProcess.capture(["id", "-un"])?.output.trimmingCharacters(in: .whitespacesAndNewlines) ?? "root"
        try? FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        for (file, type) in [("host_ed25519", "ed25519"), ("user_ed25519", "ed25519"), ("other_ed25519", "ed25519"), ("host2_ed25519", "ed25519")] {
            guard ChildProcess.capture(["ssh-keygen", "-q", "-t", type, "-N", "", "-f", dir + "/" + file])?.code == 0 else {
                throw XCTSkip("ssh-keygen failed")
            }
        }
        try FileManager.default.copyItem(atPath: dir + "/user_ed25519.pub", toPath: dir + "/authorized_keys")
        port = TestSSHD.freePort()
        let config = """
            Port \(port)
            ListenAddress 127.0.0.1
            HostKey \(dir)/host_ed25519
            PidFile \(dir)/sshd.pid
            AuthorizedKeysFile \(dir)/authorized_keys
            StrictModes no
            UsePAM no
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PubkeyAuthentication yes
            PermitRootLogin prohibit-password
            ClientAliveInterval 0
            MaxSessions 64
            MaxStartups 64
            Subsystem sftp /usr/lib/openssh/sftp-server
            LogLevel ERROR
            """
        try config.write(toFile: dir + "/sshd_config", atomically: true, encoding: .utf8)
        process = try ChildProcess(arguments: ["/usr/sbin/sshd", "-D", "-e", "-f", dir + "/sshd_config"], stdinPipe: false,
                                   stdoutPipe: false, stderr: .file(dir + "/sshd.log"))
        let hostPub = try String(contentsOfFile: hostKeyPub, encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
        try "[127.0.0.1]:\(port) \(hostPub)\n".write(toFile: knownHosts, atomically: true, encoding: .utf8)
        let until = monotonicSeconds() + 10
        while monotonicSeconds() < until {
            if TestSSHD.canConnect(port) { return }
            sleepSeconds(0.05)
        }
        throw XCTSkip("sshd did not start: \((try? String(contentsOfFile: dir + "/sshd.log", encoding: .utf8)) ?? "")")
    }

    func target(keepalive: Int = 15) -> SSHTarget {
        var t = SSHTarget(host: "127.0.0.1", port: port, user: user, identityFile: userKey, knownHosts: knownHosts)
        t.keepaliveInterval = keepalive
        return t
    }

    /// The per-connection sshd processes (descendants of the listener).
    func connectionProcesses() -> [pid_t] {
        var out = [pid_t]()
        var frontier = [process.pid]
        while let p = frontier.popLast() {
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
                guard let pid = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                      let close = stat.lastIndex(of: ")") else { continue }
                let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
                if fields.count > 1, Int32(fields[1]) == p { out.append(pid); frontier.append(pid) }
            }
        }
        return out
    }

    /// The node goes away as in a network partition: the listener and its sshd connection processes are killed, while
    /// what runs on the node (the worker daemon and its agents) goes on; keys and config stay for `resume()`.
    func pause() {
        for p in connectionProcesses() {
            let comm = (try? String(contentsOfFile: "/proc/\(p)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            if comm == "sshd" { kill(p, SIGCONT); kill(p, SIGKILL) }
        }
        process.signal(SIGTERM)
        process.wait(timeout: 5)
    }

    /// The node comes back on the same port with the same host key.
    func resume() throws {
        process = try ChildProcess(arguments: ["/usr/sbin/sshd", "-D", "-e", "-f", dir + "/sshd_config"], stdinPipe: false,
                                   stdoutPipe: false, stderr: .file(dir + "/sshd.log"))
        let until = monotonicSeconds() + 10
        while monotonicSeconds() < until {
            if TestSSHD.canConnect(port) { return }
            sleepSeconds(0.05)
        }
        XCTFail("sshd did not come back on port \(port)")
    }

    func stop() {
        for p in connectionProcesses() { kill(p, SIGCONT); kill(p, SIGKILL) }
        process.signal(SIGTERM)
        process.wait(timeout: 5)
        try? FileManager.default.removeItem(atPath: dir)
    }

    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    static func canConnect(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
    }
}
