#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodiumCore

/// Where and how to connect: an inventory node, after `~/.ssh/config` Host aliases are applied.
public struct SSHTarget: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var user: String
    /// Private key file; nil means ssh-agent (SSH_AUTH_SOCK).
    public var identityFile: String?
    /// Environment variable holding the key's passphrase (never the passphrase itself).
    public var passphraseEnv: String?
    public var knownHosts: String
    public var connectTimeout: Double = 10
    /// Seconds between keepalives; a peer silent for `keepaliveInterval × keepaliveCountMax` is declared dead.
    public var keepaliveInterval: Int = 15
    public var keepaliveCountMax: Int = 3
    /// Blocking operations (handshake, auth, channel open) give up after this many seconds.
    public var operationTimeout: Double = 30
    /// Add an unknown host key to `knownHosts` (explicit enrollment only; never implied).
    public var acceptNewHostKey = false

    public init(host: String, port: Int = 22, user: String, identityFile: String? = nil, passphraseEnv: String? = nil,
                knownHosts: String) {
        self.host = host; self.port = port; self.user = user; self.identityFile = identityFile
        self.passphraseEnv = passphraseEnv; self.knownHosts = knownHosts
    }

    /// Seconds after which a silent peer is declared dead.
    public var deadAfter: Double { Double(keepaliveInterval * keepaliveCountMax) }

    /// The target for an inventory node: its fields first, then `~/.ssh/config` for what they leave out.
    public static func from(node: NodeSpec, sshConfigPath: String? = nil) -> SSHTarget {
        let home = ProcessInfo.processInfo.environment["HOME"] ?? "/root"
        let alias = node.host ?? node.name
        let cfg = SSHConfigFile.load(path: sshConfigPath ?? home + "/.ssh/config").options(for: alias)
        let user = node.user ?? cfg["user"] ?? ProcessInfo.processInfo.environment["USER"] ?? "root"
        var t = SSHTarget(host: cfg["hostname"] ?? alias, port: node.port ?? cfg["port"].flatMap(Int.init) ?? 22, user: user,
                          identityFile: node.identityFile ?? cfg["identityfile"].map { expandTilde($0, home: home) },
                          passphraseEnv: node.passphraseEnv,
                          knownHosts: node.knownHosts ?? cfg["userknownhostsfile"].map { expandTilde($0, home: home) }
                              ?? home + "/.ssh/known_hosts")
        if let k = node.keepaliveSeconds { t.keepaliveInterval = k }
        return t
    }
}

func expandTilde(_ p: String, home: String) -> String { p.hasPrefix("~/") ? home + p.dropFirst(1) : p }

/// The subset of OpenSSH's client config podium honours: Host blocks with HostName, User, Port, IdentityFile,
/// UserKnownHostsFile (first match wins, as in ssh; `*` and `?` patterns).
struct SSHConfigFile {
    var blocks: [(patterns: [String], options: [String: String])] = []

    static func load(path: String) -> SSHConfigFile {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return SSHConfigFile() }
        return parse(text)
    }

    static func parse(_ text: String) -> SSHConfigFile {
        var cfg = SSHConfigFile()
        var current: (patterns: [String], options: [String: String]) = (["*"], [:])
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let parts = line.split(maxSplits: 1, whereSeparator: { $0 == " " || $0 == "\t" || $0 == "=" })
            guard parts.count == 2 else { continue }
            let key = parts[0].lowercased()
            let value = parts[1].trimmingCharacters(in: .whitespaces)
            if key == "host" {
                cfg.blocks.append(current)
                current = (value.split(separator: " ").map(String.init), [:])
            } else if current.options[key] == nil {
                current.options[key] = value
            }
        }
        cfg.blocks.append(current)
        return cfg
    }

    func options(for alias: String) -> [String: String] {
        var out = [String: String]()
        for b in blocks where b.patterns.contains(where: { glob($0, alias) }) {
            for (k, v) in b.options where out[k] == nil { out[k] = v }
        }
        return out
    }

    func glob(_ pattern: String, _ s: String) -> Bool {
        let p = Array(pattern), t = Array(s)
        func m(_ i: Int, _ j: Int) -> Bool {
            if i == p.count { return j == t.count }
            if p[i] == "*" { return m(i + 1, j) || (j < t.count && m(i, j + 1)) }
            return j < t.count && (p[i] == "?" || p[i] == t[j]) && m(i + 1, j + 1)
        }
        return m(0, 0)
    }
}
