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

/// Host-key verification against an OpenSSH known_hosts file (plain and hashed entries). Never trust on first use:
/// an unknown key is refused unless enrollment was asked for; a changed key is always refused.
enum HostKeys {
    // Values of the LIBSSH2_KNOWNHOST_* macros (shift expressions that Swift does not import).
    static let typePlain: Int32 = 1
    static let keyEncRaw: Int32 = 1 << 16

    static func knownHostKeyBits(_ hostKeyType: Int32) -> Int32 {
        switch hostKeyType {
        case LIBSSH2_HOSTKEY_TYPE_RSA: return 2 << 18
        case LIBSSH2_HOSTKEY_TYPE_DSS: return 3 << 18
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: return 4 << 18
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: return 5 << 18
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: return 6 << 18
        case LIBSSH2_HOSTKEY_TYPE_ED25519: return 7 << 18
        default: return 15 << 18
        }
    }

    /// OpenSSH's fingerprint form: "SHA256:" + unpadded base64 of the key blob's SHA-256.
    static func fingerprint(_ blob: [UInt8]) -> String {
        var s = SHA256()
        s.update(blob)
        let b64 = Data(s.finalize()).base64EncodedString()
        return "SHA256:" + b64.filter { $0 != "=" }
    }

    /// The key's algorithm name, read from the blob (its first SSH string), e.g. "ssh-ed25519".
    static func algorithm(_ blob: [UInt8]) -> String {
        guard blob.count >= 4 else { return "unknown" }
        let n = Int(blob[0]) << 24 | Int(blob[1]) << 16 | Int(blob[2]) << 8 | Int(blob[3])
        guard n > 0, blob.count >= 4 + n else { return "unknown" }
        return String(decoding: blob[4..<(4 + n)], as: UTF8.self)
    }

    /// known_hosts host field: "host" for port 22, "[host]:port" otherwise.
    static func hostField(_ host: String, _ port: Int) -> String { port == 22 ? host : "[\(host)]:\(port)" }

    /// Verifies the session's host key; enrolls it when unknown and `target.acceptNewHostKey` is set.
    static func verify(session: OpaquePointer, target: SSHTarget) throws {
        let doing = "verifying the host key of \(target.host):\(target.port)"
        var len = 0
        var type: Int32 = 0
        guard let raw = libssh2_session_hostkey(session, &len, &type) else {
            throw SSHError.libssh2(.hostKey, session, doing: doing, code: -1)
        }
        let blob = Array(UnsafeRawBufferPointer(start: raw, count: len).bindMemory(to: UInt8.self))
        let actual = fingerprint(blob)
        guard let kh = libssh2_knownhost_init(session) else { throw SSHError.libssh2(.hostKey, session, doing: doing, code: -1) }
        defer { libssh2_knownhost_free(kh) }
        if FileManager.default.fileExists(atPath: target.knownHosts) {
            let n = libssh2_knownhost_readfile(kh, target.knownHosts, LIBSSH2_KNOWNHOST_FILE_OPENSSH)
            if n < 0 { throw SSHError.libssh2(.hostKey, session, doing: "reading \(target.knownHosts)", code: n) }
        }
        var found: UnsafeMutablePointer<libssh2_knownhost>?
        let check = raw.withMemoryRebound(to: CChar.self, capacity: len) { key in
            libssh2_knownhost_checkp(kh, target.host, Int32(target.port), key, len,
                                     typePlain | keyEncRaw | knownHostKeyBits(type), &found)
        }
        switch check {
        case LIBSSH2_KNOWNHOST_CHECK_MATCH:
            return
        case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
            var expected = "(unreadable)"
            if let k = found?.pointee.key, let d = Data(base64Encoded: String(cString: k)) { expected = fingerprint(Array(d)) }
            throw SSHError(.hostKeyChanged, doing: doing, message: """
                REMOTE HOST KEY HAS CHANGED — refusing to connect. \(target.knownHosts) expects \(expected) \
                but \(hostField(target.host, target.port)) presented \(algorithm(blob)) \(actual). This is either a reinstalled \
                node or someone intercepting the connection; if you know the node was reinstalled, remove its line from \
                \(target.knownHosts) and enroll it again with `podium nodes add … --accept-new-host-key`.
                """)
        case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
            guard target.acceptNewHostKey else {
                throw SSHError(.hostKeyUnknown, doing: doing, message: """
                    unknown host key \(algorithm(blob)) \(actual) (not in \(target.knownHosts)); podium never trusts on first \
                    use: enroll the node with `podium nodes add … --accept-new-host-key`, or add the key to known_hosts yourself
                    """)
            }
            try enroll(blob: blob, target: target)
        default:
            throw SSHError.libssh2(.hostKey, session, doing: doing, code: check)
        }
    }

    /// Appends one OpenSSH known_hosts line (other lines are left untouched).
    static func enroll(blob: [UInt8], target: SSHTarget) throws {
        let line = "\(hostField(target.host, target.port)) \(algorithm(blob)) \(Data(blob).base64EncodedString())\n"
        try? FileManager.default.createDirectory(atPath: directoryOf(target.knownHosts), withIntermediateDirectories: true)
        let fd = open(target.knownHosts, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw SSHError(.hostKey, doing: "enrolling the host key", message: "cannot write \(target.knownHosts): \(SystemError.text(errno))")
        }
        defer { close(fd) }
        let bytes = Array(line.utf8)
        guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
            throw SSHError(.hostKey, doing: "enrolling the host key", message: "short write to \(target.knownHosts)")
        }
    }
}
