import XCTest
import PodiumCore
import PodiumDashboard
import PodiumStore
@testable import PodiumCoordinator
import PodiumSystem

/// Issue 20: `podium serve` against real sweeps, looked at in a real browser (headless Chromium driven over the DevTools
/// protocol by scripts/lib/cdp.py), its API compared with `podium status`, its /metrics read by Prometheus' own
/// Python parser (prometheus_client).
final class DashboardTests: XCTestCase {
    var podium: String { directoryOf(workerBinary) + "/podium" }

    /// Starts `podium serve ARGS --listen 127.0.0.1:0` and returns it with its port (read from its first line).
    func serve(_ args: [String], dir: String) throws -> (ChildProcess, Int) {
        let out = dir + "/serve-\(UUID().uuidString.prefix(6)).out"
        let quoted = ([podium, "serve"] + args + ["--listen", "127.0.0.1:0"]).map { "'\($0)'" }.joined(separator: " ")
        let p = try ChildProcess(arguments: ["/bin/sh", "-c", "exec \(quoted) > '\(out)' 2>&1"], stdinPipe: false, stdoutPipe: false)
        let deadline = monotonicSeconds() + 60
        while monotonicSeconds() < deadline {
            let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
            if let r = text.range(of: #"127\.0\.0\.1:[0-9]+"#, options: .regularExpression), let port = Int(text[r].split(separator: ":")[1]) {
                return (p, port)
            }
            if p.poll() != nil { XCTFail("podium serve ended: \(text)"); break }
            usleep(50_000)
        }
        p.signal(SIGKILL)
        throw XCTSkip("podium serve did not start")
    }

    func get(_ url: String, headers: [String] = []) -> (code: Int, body: String, headers: String) {
        let r = ChildProcess.capture(["curl", "-s", "--noproxy", "*", "-D", "-", "-o", "-"] + headers.flatMap { ["-H", $0] } + [url], timeout: 30)
        let text = r?.output ?? ""
        guard let split = text.range(of: "\r\n\r\n") else { return (0, "", text) }
        let head = String(text[..<split.lowerBound]), body = String(text[split.upperBound...])
        let code = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        return (code, body, head)
    }

    func browse(_ steps: [[String: Any]], dir: String) throws -> [String: Any] {
        let file = dir + "/steps-\(UUID().uuidString.prefix(6)).json"
        try JSONSerialization.data(withJSONObject: steps).write(to: URL(fileURLWithPath: file))
        let r = ChildProcess.capture(["python3", repoRoot + "/scripts/lib/cdp.py", file], timeout: 300)
        let out = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data((r?.output ?? "{}").utf8)) as? [String: Any], r?.output ?? "")
        XCTAssertEqual(out["ok"] as? Bool, true, "browser: \(out["error"] ?? "?")")
        return out["results"] as? [String: Any] ?? [:]
    }

    func chromiumOrSkip() throws {
        if !FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium") {
            if ProcessInfo.processInfo.environment["PODIUM_REQUIRE_CHROMIUM"] == "1" { XCTFail("no Chromium (apt-get install chromium)") }
            throw XCTSkip("no Chromium")
        }
        guard FileManager.default.isExecutableFile(atPath: podium) else { throw XCTSkip("podium not built at \(podium)") }
    }

    /// A real Docker sweep of two runs: attempt 1 ends after ~3 s, attempt 2 after ~20 s, both printing markup that must
    /// stay text. The overview watches a run go from running to completed without a reload; the run page follows the
    /// second run's growing log; nothing the agent printed executes; a 1 GiB log's tail opens reading only its tail.
    func testLiveOverviewRunPageHostileLogAndBigLogInChromium() throws {
        try chromiumOrSkip()
        _ = try requireDocker()
        let dir = makeTempDir("dash")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try #"{"nodes": [{"name": "local", "transport": "local", "cpus": 2, "memory": "4g"}]}"#
            .write(toFile: dir + "/inventory.json", atomically: true, encoding: .utf8)
        let agent = #"echo '<script>window.__pwned=1</script>'; echo '<img src=x onerror="window.__pwned=2">'; if [ "$AGENT_SEED" = 1 ]; then n=6; else n=40; fi; i=0; while [ $i -lt $n ]; do echo "line $i of $n"; i=$((i+1)); sleep 0.5; done; cp /home/data/sample_submission.csv /home/submission/submission.csv"#
        try """
        {"sweep": "dash", "agent": {"name": "html", "image": "\(testImage)", "command": ["/bin/sh", "-c", \(String(decoding: try JSONEncoder().encode(agent), as: UTF8.self))]},
         "competitions": ["wine-cultivar"], "attempts": 2, "budgets": ["90s"],
         "hardware": [{"name": "cpu", "cpus": 1, "memory": "256m"}], "inventory": "inventory.json",
         "mlebench_dir": "\(repoRoot)/benchmark/mini", "data_dir": "\(repoRoot)/benchmark/mini-data", "state": "state.sqlite"}
        """.write(toFile: dir + "/sweep.json", atomically: true, encoding: .utf8)
        let (runner, store) = try makeRunner(dir + "/sweep.json")
        let outcome = runInBackground(runner)
        defer { _ = outcome }
        // Wait (for state, not a fixed time) until attempt 1 runs.
        var runs = [RunRecord]()
        let deadline = monotonicSeconds() + 120
        while monotonicSeconds() < deadline {
            runs = (try? store.runs(sweep: "dash")) ?? []
            if runs.contains(where: { $0.spec.attempt == 1 && $0.state == .running }) { break }
            usleep(100_000)
        }
        let first = try XCTUnwrap(runs.first { $0.spec.attempt == 1 }), second = try XCTUnwrap(runs.first { $0.spec.attempt == 2 })
        XCTAssertEqual(first.state, .running, "attempt 1 never ran")
        let (server, port) = try serve([dir + "/sweep.json"], dir: dir)
        defer { server.signal(SIGTERM); _ = server.wait(timeout: 10) }
        let base = "http://127.0.0.1:\(port)"
        let cell = "document.querySelector('a[title=\"\(first.id)\"]')"
        let results = try browse([
            ["navigate": base + "/"],
            ["wait": "\(cell) && \(cell).classList.contains('s-running')", "timeout": 30, "as": "running"],
            ["eval": "window.podium.loadId", "as": "load1"],
            ["wait": "\(cell).classList.contains('s-completed')", "timeout": 120, "as": "completed"],
            ["eval": "window.podium.loadId", "as": "load2"],
            ["eval": "window.podium.updates", "as": "updates"],
            ["screenshot": dir + "/overview.png"],
            ["navigate": base + "/runs/" + second.id],
            ["wait": "document.getElementById('logtext').textContent.includes('line 2 of 40')", "timeout": 60, "as": "tail"],
            ["wait": "document.getElementById('logtext').textContent.includes('line 12 of 40') && window.podium.logUpdates > 1", "timeout": 60, "as": "followed"],
            ["eval": "typeof window.__pwned", "as": "pwned"],
            ["eval": "document.querySelectorAll('#logtext *').length", "as": "elements_in_log"],
            ["eval": "document.getElementById('logtext').textContent.includes('<script>window.__pwned=1</script>') && document.getElementById('logtext').textContent.includes('<img src=x onerror=')", "as": "markup_as_text"],
        ], dir: dir)
        XCTAssertNotNil(results["running"], "the overview never showed the run running")
        XCTAssertNotNil(results["completed"], "the overview never showed the run completed")
        XCTAssertEqual(results["load1"] as? String, results["load2"] as? String, "the page reloaded")
        XCTAssertGreaterThan(results["updates"] as? Int ?? 0, 1, "no live update arrived")
        XCTAssertNotNil(results["followed"], "the run page did not follow the growing log")
        XCTAssertEqual(results["pwned"] as? String, "undefined", "markup in the agent's log executed")
        XCTAssertEqual(results["elements_in_log"] as? Int, 0, "the log became markup")
        XCTAssertEqual(results["markup_as_text"] as? Bool, true, "the log's markup is not shown as text")
        try assertScreenshotHasContent(dir + "/overview.png")

        // Let the sweep end, then the API agrees with `podium status`, and /metrics parses with Prometheus' parser.
        let end = monotonicSeconds() + 180
        while outcome.withLock({ $0 }) == nil && monotonicSeconds() < end { usleep(200_000) }
        if case .failure(let e)? = outcome.withLock({ $0 }) { XCTFail("sweep failed: \(e)") }
        let status = try XCTUnwrap(ChildProcess.capture([podium, "status", dir + "/sweep.json", "--format", "json"]))
        let want = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(status.output.utf8)) as? [String: Any])
        var api = [String: Any]()
        for _ in 0..<50 {  // the server re-reads the state within its cache age
            let body = get(base + "/api/v1/sweeps").body
            api = ((try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["sweeps"] as? [[String: Any]])?.first ?? [:]
            if (api["runs"] as? [String: Int]) == (want["runs"] as? [String: Int]) { break }
            usleep(100_000)
        }
        XCTAssertEqual(api["runs_total"] as? Int, want["runs_total"] as? Int)
        XCTAssertEqual(api["runs"] as? [String: Int], want["runs"] as? [String: Int])
        XCTAssertEqual((want["runs"] as? [String: Int])?["completed"], 2)
        try checkMetrics(base, completed: 2, sweep: "dash", dir: dir)

        // A 1 GiB log (sparse, with real lines at its end): the page opens at its tail, and the server read only the tail.
        let logPath = dir + "/runs/dash/\(first.id)/e1/agent.log"
        let fd = open(logPath, O_WRONLY | O_TRUNC)
        XCTAssertEqual(ftruncate(fd, 1 << 30), 0)
        _ = "last lines\nEND-OF-BIG-LOG\n".withCString { pwrite(fd, $0, strlen($0), off_t(1 << 30)) }
        close(fd)
        let big = try browse([
            ["navigate": base + "/runs/" + first.id + "?epoch=1"],
            ["wait": "document.getElementById('logtext').textContent.includes('END-OF-BIG-LOG')", "timeout": 30, "as": "tail"],
            ["eval": "window.podium.logLoaded", "as": "ms"],
            // The nodes page and the report render too.
            ["navigate": base + "/nodes"],
            ["eval": "Array.from(document.querySelectorAll('#nodes tr')).map(r => r.textContent).join('|')", "as": "nodes"],
            ["navigate": base + "/report?sweep=dash"],
            ["eval": "document.title + '|' + document.querySelectorAll('svg').length", "as": "report"],
        ], dir: dir)
        XCTAssertNotNil(big["tail"])
        let nodes = big["nodes"] as? String ?? ""
        XCTAssertTrue(nodes.hasPrefix("local") && nodes.contains("docker"), "nodes page: \(nodes)")
        XCTAssertEqual((big["report"] as? String)?.hasPrefix("podium · sweep dash|"), true, "report page: \(big["report"] ?? "?")")
        print("1 GiB log: tail shown \(big["ms"] ?? "?") ms after navigation start (not asserted; scripts/bench/dashboard measures)")
        let tail = get(base + "/api/v1/runs/\(first.id)/attempts/1/log?tail=65536")
        XCTAssertEqual(tail.code, 200)
        let read = tail.headers.split(separator: "\r\n").first { $0.lowercased().hasPrefix("x-podium-bytes-read:") }
            .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) }
        XCTAssertEqual(read, 65536, "the server should read exactly the tail")
        XCTAssertTrue(tail.body.contains("END-OF-BIG-LOG"))
        // Unknown runs and epochs are 404; a path in the URL is never a file.
        XCTAssertEqual(get(base + "/api/v1/runs/nope/attempts/1/log").code, 404)
        XCTAssertEqual(get(base + "/api/v1/runs/\(first.id)/attempts/9/log").code, 404)
        XCTAssertEqual(get(base + "/api/v1/runs/..%2F..%2Fetc%2Fpasswd/attempts/1/log").code, 404)
        XCTAssertEqual(get(base + "/static/..%2F..%2Fetc%2Fpasswd").code, 404)
    }

    func checkMetrics(_ base: String, completed: Int, sweep: String, dir: String) throws {
        let m = get(base + "/metrics")
        XCTAssertEqual(m.code, 200)
        let file = dir + "/metrics.txt"
        try m.body.write(toFile: file, atomically: true, encoding: .utf8)
        let script = """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            out = {}
            for fam in text_string_to_metric_families(open(sys.argv[1]).read()):
                for s in fam.samples:
                    out.setdefault(fam.name, []).append([s.name, s.labels, s.value])
            print(json.dumps(out))
            """
        let parsed = try XCTUnwrap(ChildProcess.capture(["python3", "-c", script, file], timeout: 60))
        XCTAssertEqual(parsed.code, 0, "prometheus_client could not parse /metrics: \(parsed.output)")
        let families = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(parsed.output.utf8)) as? [String: [[Any]]], parsed.output)
        // prometheus_client names counter families without their _total suffix.
        for name in DashboardMetrics.documented {
            let family = name.hasSuffix("_total") && families[name] == nil ? String(name.dropLast(6)) : name
            XCTAssertNotNil(families[family], "series \(name) missing from /metrics")
        }
        let runs = families["podium_runs"] ?? []
        let completedValue = runs.first { ($0[1] as? [String: String]) == ["state": "completed", "sweep": sweep] }?[2] as? Double
        XCTAssertEqual(completedValue, Double(completed))
        let dispatched = (families["podium_dispatch_latency_seconds"] ?? []).first { ($0[0] as? String) == "podium_dispatch_latency_seconds_count" }?[2] as? Double
        XCTAssertEqual(dispatched, Double(completed), "one dispatch latency per attempt")
        let graded = (families["podium_grading_seconds"] ?? []).first { ($0[0] as? String) == "podium_grading_seconds_count" }?[2] as? Double
        XCTAssertGreaterThanOrEqual(graded ?? 0, Double(completed), "every final grade's grader time")
    }

    func assertScreenshotHasContent(_ png: String) throws {
        let stats = ChildProcess.capture(["python3", "-c", HTMLReportBrowserTests.pngStats, png], timeout: 60)
        let fields = (stats?.output ?? "").split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Double($0) }
        XCTAssertEqual(fields.count, 4, "png stats: \(stats?.output ?? "python3 missing")")
        guard fields.count == 4 else { return }
        XCTAssertGreaterThan(fields[1], 0.02, "the overview is (nearly) blank")
        XCTAssertGreaterThan(fields[3], 8, "too few colours for the header, counts and grid")
    }

    /// Safe by default: beyond loopback without a token is refused at start (exit 2); with one, a wrong token is 401,
    /// the right one (header or the cookie `?token=` sets) is served; writes are refused.
    func testTokenRulesAndReadOnly() throws {
        guard FileManager.default.isExecutableFile(atPath: podium) else { throw XCTSkip("podium not built at \(podium)") }
        let dir = makeTempDir("dash-token")
        defer { killDaemon(dir + "/state/worker-n"); try? FileManager.default.removeItem(atPath: dir) }
        try #"{"nodes": [{"name": "n", "transport": "local", "runtime": "process", "cpus": 2, "memory": "4g"}]}"#
            .write(toFile: dir + "/inventory.json", atomically: true, encoding: .utf8)
        try """
        {"sweep": "tok", "agent": {"name": "quick", "image": "none", "command": ["/bin/sh", "-c", "cp \\"$DATA_DIR/sample_submission.csv\\" \\"$SUBMISSION_DIR/submission.csv\\""]},
         "competitions": ["wine-cultivar"], "attempts": 1, "budgets": ["60s"],
         "hardware": [{"name": "cpu", "cpus": 1, "memory": "1g"}], "inventory": "inventory.json",
         "mlebench_dir": "\(repoRoot)/benchmark/mini", "data_dir": "\(repoRoot)/benchmark/mini-data", "state": "state/state.sqlite"}
        """.write(toFile: dir + "/sweep.json", atomically: true, encoding: .utf8)
        XCTAssertEqual(ChildProcess.capture([podium, "sweep", dir + "/sweep.json"], timeout: 180)?.code, 0)

        func withStderr(_ args: [String]) -> [String] { ["/bin/sh", "-c", "exec " + args.map { "'\($0)'" }.joined(separator: " ") + " 2>&1"] }
        let refused = try XCTUnwrap(ChildProcess.capture(withStderr([podium, "serve", dir + "/sweep.json", "--listen", "0.0.0.0:0"]), timeout: 30))
        XCTAssertEqual(refused.code, 2)
        XCTAssertTrue(refused.output.contains("--token-file"), refused.output)
        let token = "t0k3n-\(UUID().uuidString)"
        try token.write(toFile: dir + "/token", atomically: true, encoding: .utf8)
        chmod(dir + "/token", 0o644)
        let open = try XCTUnwrap(ChildProcess.capture(withStderr([podium, "serve", dir + "/sweep.json", "--listen", "0.0.0.0:0", "--token-file", dir + "/token"]), timeout: 30))
        XCTAssertEqual(open.code, 2, "a token file others can read is refused")
        XCTAssertTrue(open.output.contains("chmod 600"), open.output)
        chmod(dir + "/token", 0o600)

        let (server, port) = try serve([dir + "/sweep.json", "--token-file", dir + "/token"], dir: dir)
        defer { server.signal(SIGTERM); _ = server.wait(timeout: 10) }
        let base = "http://127.0.0.1:\(port)"
        XCTAssertEqual(get(base + "/api/v1/sweeps").code, 401)
        XCTAssertEqual(get(base + "/api/v1/sweeps", headers: ["Authorization: Bearer wrong-\(token)"]).code, 401)
        XCTAssertEqual(get(base + "/metrics", headers: ["Authorization: Bearer \(token)"]).code, 200)
        let ok = get(base + "/api/v1/sweeps", headers: ["Authorization: Bearer \(token)"])
        XCTAssertEqual(ok.code, 200)
        XCTAssertTrue(ok.body.contains("\"runs_total\":1"), ok.body)
        let login = get(base + "/nodes?token=\(token)")
        XCTAssertEqual(login.code, 303)
        XCTAssertTrue(login.headers.lowercased().contains("set-cookie: podium_token="), login.headers)
        XCTAssertTrue(login.headers.lowercased().contains("httponly"), login.headers)
        XCTAssertEqual(get(base + "/nodes", headers: ["Cookie: podium_token=\(token)"]).code, 200)
        XCTAssertEqual(get(base + "/nodes?token=wrong").code, 401)
        // Read-only: any write method is refused.
        let post = ChildProcess.capture(["curl", "-s", "--noproxy", "*", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                                         "-H", "Authorization: Bearer \(token)", base + "/api/v1/sweeps"])
        XCTAssertEqual(post?.output, "405")
    }
}

final class LogSliceTests: XCTestCase {
    /// Ranges cut inside a character: the start skips the rest of it, the end leaves it for the next read; together the
    /// reads give back the file's text exactly.
    func testRangesKeepCharactersWhole() throws {
        let dir = makeTempDir("slice")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = String(repeating: "é€😀a\n", count: 300)
        try text.write(toFile: dir + "/log", atomically: true, encoding: .utf8)
        for step in [1, 2, 3, 5, 7, 64] {
            var got = "", from: Int64 = 0
            while true {
                let s = try LogSlice.read(path: dir + "/log", offset: from, length: step)
                XCTAssertEqual(s.offset, from)
                if s.next == from { if s.size == from { break }; XCTFail("no progress at \(from) with step \(step)"); break }
                got += s.text
                from = s.next
            }
            XCTAssertEqual(got, text, "step \(step)")
        }
        let tail = try LogSlice.tail(path: dir + "/log", length: 10)
        XCTAssertTrue(text.hasSuffix(tail.text))
        XCTAssertFalse(tail.text.contains("\u{FFFD}"))
        XCTAssertThrowsError(try LogSlice.read(path: dir + "/missing", offset: 0, length: 10))
    }
}
