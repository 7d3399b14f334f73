import ArgumentParser
import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import Metrics
import PodiumCore
import PodiumDashboard
import PodiumSystem
import Prometheus

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A live web dashboard (sweeps, nodes, runs with their logs, the report), a JSON API and Prometheus /metrics over a state; read-only.",
        discussion: """
            Works whether a coordinator runs or not, and shows every sweep of the state. Listens on loopback by default; \
            any other address needs --token-file (then API clients send `Authorization: Bearer TOKEN`, and a browser opens \
            /?token=TOKEN once). Pages: / (overview), /sweeps/NAME, /nodes, /runs/RUN, /report; API: /api/v1/…; /metrics.
            """)

    @Argument(help: "Sweep file or state database (default: scheduler.json).") var target: String?
    @Option(help: "State database file (instead of the sweep file's).") var state: String?
    @Option(help: "Address to listen on, HOST:PORT (port 0 picks a free one).") var listen = "127.0.0.1:8080"
    @Option(help: "File holding the bearer token (one line, mode 600); required to listen beyond loopback.") var tokenFile: String?

    func run() throws {
        let statePath = try resolveState()
        let (host, port) = try parseListen(listen)
        let token = try tokenFile.map(readToken)
        if !DashboardServer.isLoopback(host) && token == nil {
            throw ConfigError(path: "--listen", found: "\(listen), beyond loopback, with no token",
                              expected: "a loopback address, or --token-file",
                              fix: "add --token-file FILE (e.g. `head -c 32 /dev/urandom | base64 > token && chmod 600 token`), or listen on 127.0.0.1")
        }
        let dashboard: DashboardState
        do { dashboard = try DashboardState(statePath: statePath) } catch {
            throw ConfigError(path: statePath, found: "a state that cannot be opened (\(error))", expected: "a podium state database")
        }
        let metrics = DashboardMetrics()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics.registry))
        let server = DashboardServer(state: dashboard, metrics: metrics, host: host, port: port, token: token)
        let sweeps = (try? dashboard.sweeps().count) ?? 0
        let failure = Locked<(any Error)?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            do {
                try await server.run { bound in
                    let shown = host.contains(":") ? "[\(host)]" : host
                    print("podium serve: http://\(shown):\(bound)/ — \(statePath), \(sweeps) sweep(s), read-only\(token == nil ? "" : ", token required")")
                    fflush(stdout)
                }
            } catch { failure.withLock { $0 = error } }
            done.signal()
        }
        done.wait()
        if let e = failure.withLock({ $0 }) {
            throw ConfigError(path: "--listen", found: "\(listen): \(e)", expected: "an address this machine can listen on",
                              fix: "pick another port, or stop what listens there")
        }
    }

    func resolveState() throws -> String {
        let cwd = FileManager.default.currentDirectoryPath
        if let s = state { return try existing(resolvePath(s, relativeTo: cwd), "--state") }
        let t = target ?? "scheduler.json"
        if t.hasSuffix(".json") {
            let c = try SweepConfig.load(path: t)
            return try existing(c.state, "\(t): $.state", fix: "run `podium sweep \(t)` first")
        }
        return try existing(resolvePath(t, relativeTo: cwd), "STATE")
    }

    func existing(_ path: String, _ field: String, fix: String? = nil) throws -> String {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ConfigError(path: field, found: "no state at \(path)", expected: "the state file of a sweep that has run", fix: fix)
        }
        return path
    }

    func parseListen(_ s: String) throws -> (String, Int) {
        var host = "", portText = ""
        if s.hasPrefix("["), let close = s.firstIndex(of: "]") {
            host = String(s[s.index(after: s.startIndex)..<close])
            portText = String(s[s.index(after: close)...].drop { $0 == ":" })
        } else if let colon = s.lastIndex(of: ":") {
            host = String(s[..<colon]); portText = String(s[s.index(after: colon)...])
        }
        guard !host.isEmpty, let port = Int(portText), (0...65535).contains(port) else {
            throw ConfigError(path: "--listen", found: "'\(s)'", expected: "HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080")
        }
        return (host, port)
    }

    func readToken(_ file: String) throws -> String {
        var st = stat()
        guard stat(file, &st) == 0, let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw ConfigError(path: "--token-file", found: "\(file) cannot be read", expected: "a file holding the token")
        }
        if st.st_mode & 0o077 != 0 {
            throw ConfigError(path: "--token-file", found: "\(file) is readable by others (mode \(String(st.st_mode & 0o777, radix: 8)))",
                              expected: "a file only its owner reads", fix: "chmod 600 \(file)")
        }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard token.count >= 16, !token.contains(where: { $0 == ";" || $0 == " " || $0 == "\n" }) else {
            throw ConfigError(path: "--token-file", found: "a token of \(token.count) characters (or with spaces or ';')",
                              expected: "one line of at least 16 characters", fix: "head -c 32 /dev/urandom | base64 > \(file) && chmod 600 \(file)")
        }
        return token
    }
}
