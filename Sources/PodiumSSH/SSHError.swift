internal import CLibSSH2

/// An SSH failure: what podium was doing, libssh2's error code and message when there is one.
public struct SSHError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        case connect, hostKeyUnknown, hostKeyChanged, hostKey, auth, channel, io, timeout, peerDead, closed, config
    }
    public var kind: Kind
    public var doing: String
    /// libssh2's return code (LIBSSH2_ERROR_*), when the failure came from libssh2.
    public var code: Int32?
    public var message: String

    public var description: String {
        let base = code.map { "\(doing): \(message) (libssh2 error \($0))" } ?? "\(doing): \(message)"
        return hint.map { "\(base) — \($0)" } ?? base
    }

    /// What to check, in the operator's words, for libssh2's terse failures (its own text is kept beside it).
    public var hint: String? {
        switch kind {
        case .auth:
            return "check that this public key is in the node user's ~/.ssh/authorized_keys (mode 600, in a directory of mode 700), that the user is right, and that sshd allows public keys"
        case .connect where message.contains("banner") || code == -2:
            return "the TCP connection opened but no SSH server answered: is sshd listening on that port (not another service), and is it not refusing connections (MaxStartups, a firewall in between)?"
        case .connect where message.contains("refused") || message.contains("resolve"):
            return "is the host name right and is sshd listening on that port (`ssh -p PORT user@host` from this machine)?"
        case .timeout:
            return "no answer in time: is the node up and reachable from this machine (a firewall or a VPN that dropped)?"
        default:
            return nil
        }
    }

    init(_ kind: Kind, doing: String, code: Int32? = nil, message: String) {
        self.kind = kind; self.doing = doing; self.code = code; self.message = message
    }

    /// From libssh2's last error on the session.
    static func libssh2(_ kind: Kind, _ session: OpaquePointer?, doing: String, code: Int32) -> SSHError {
        var msg: UnsafeMutablePointer<CChar>?
        var len: Int32 = 0
        if let session { _ = libssh2_session_last_error(session, &msg, &len, 0) }
        let text = msg.map { String(cString: $0) } ?? "error \(code)"
        let isTimeout = code == LIBSSH2_ERROR_TIMEOUT
        return SSHError(isTimeout ? .timeout : kind, doing: doing, code: code, message: text)
    }
}
