import XCTest
import PodiumCore
import PodiumProtocol
import PodiumStore
import PodiumSSH
@testable import PodiumCoordinator
import PodiumSystem
#if canImport(Glibc)
import Glibc
#endif

/// Issue 18 with real parts: nodes behind real sshd instances with data caches too small for every competition, a
/// busybox httpd mirror and a shared directory as sources. No run starts before its data is verified on its node;
/// eviction never touches data a live run uses; two runs of one competition on one node stage it once; a corrupted
/// source file is named and refused; kill -9 mid-staging resumes without copying verified files again.
final class LazyDataTests: XCTestCase {
    static let competitions = ["breast-cancer-diagnosis", "diabetes-progression", "wine-cultivar"]
    /// The agent refuses to run unless the node's manifest (written only once every file was verified) is in its
    /// data, works a little, then copies the sample submission: had its data been evicted meanwhile, it fails.
    static let agent = #"test -f "$DATA_DIR/.podium-manifest.json" || { echo "data not verified" >&2; exit 3; }; sleep 1; cp "$DATA_DIR/sample_submission.csv" "$SUBMISSION_DIR/submission.csv""#

    func writeSweep(_ dir: String, competitions: [String], attempts: Int) throws {
        let list = competitions.map { "\"\($0)\"" }.joined(separator: ", ")
        try """
        {"sweep": "lazy", "agent": {"name": "copy", "image": "none", "command": ["/bin/sh", "-c", \(String(reflecting: Self.agent))]},
         "competitions": [\(list)], "attempts": \(attempts), "budgets": ["30s"],
         "hardware": [{"name": "cpu", "cpus": 1, "memory": "1g"}], "inventory": "inventory.json",
         "mlebench_dir": "\(repoRoot)/benchmark/mini", "data_dir": "\(repoRoot)/benchmark/mini-data", "state": "state.sqlite"}
        """.write(toFile: dir + "/sweep.json", atomically: true, encoding: .utf8)
    }

    func sshNode(_ name: String, _ sshd: TestSSHD, dir: String, cache: String, maxBytes: Int64, source: String? = nil) -> String {
        """
        {"name": "\(name)", "transport": "ssh", "host": "127.0.0.1", "port": \(sshd.port), "user": "\(sshd.user)",
         "identity_file": "\(sshd.userKey)", "known_hosts": "\(sshd.knownHosts)", "runtime": "process", "cpus": 2, "memory": "4g",
         "oversubscribe": true, "worker_command": ["\(workerBinary)"], "work_dir": "\(dir)/\(name)-work",
         "data_cache": {"path": "\(cache)", "max_bytes": "\(maxBytes)B"\(source.map { ", \"source\": \"\($0)\"" } ?? "")}}
        """
    }

    static func dataBytes(_ c: String) -> Int64 { DataManifest.bytes(under: "\(repoRoot)/benchmark/mini-data/\(c)/prepared/public") }

    /// Two SSH nodes whose caches hold one competition at a time (push): six runs of three competitions complete, every
    /// agent found verified data, competitions were evicted to make room, and each node's cache ends within budget.
    func testTwoNodesStageOnDemandAndEvictWithinTheirBudgets() throws {
        guard FileManager.default.isExecutableFile(atPath: workerBinary) else { return XCTFail("podium-worker not built at \(workerBinary)") }
        let a = try TestSSHD(), b = try TestSSHD()
        defer { a.stop(); b.stop() }
        let dir = makeTempDir("lazy-two")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sizes = Self.competitions.map(Self.dataBytes)
        let budget = sizes.max()! + sizes.min()! / 2  // one competition at a time, never two
        try """
        {"nodes": [\(sshNode("na", a, dir: dir, cache: dir + "/cache-a", maxBytes: budget)),
                   \(sshNode("nb", b, dir: dir, cache: dir + "/cache-b", maxBytes: budget))]}
        """.write(toFile: dir + "/inventory.json", atomically: true, encoding: .utf8)
        try writeSweep(dir, competitions: Self.competitions, attempts: 2)
        let (runner, store) = try makeRunner(dir + "/sweep.json")
        let outcome = try runner.run()
        let failures = try store.events(kind: "data_stage_failed")
        XCTAssertEqual(outcome.counts[.completed], 6, "\(outcome.counts) — \(failures)")
        let (_, results, _) = try SweepResults.collect(store: store, sweep: "lazy")
        XCTAssertTrue(results.allSatisfy { $0.graded && $0.validSubmission }, "every agent found its data verified and whole: \(results)")
        XCTAssertEqual(try store.attempts(sweep: "lazy").count, 6, "no attempt failed for want of data")

        // No run was dispatched before its node's copy was verified in this coordinator run (a run placed where the
        // data is already verified goes straight to dispatch; the others wait in `staging`).
        let ready = try store.events(kind: "data_ready")
        let readyAt = try store.eventRecords(kind: "data_ready")
        let staged = try store.events(kind: "data_staged")
        XCTAssertGreaterThanOrEqual(staged.count, 3, "\(staged)")
        XCTAssertTrue(staged.allSatisfy { $0.contains("verified") }, "\(staged)")
        // A node that took more competitions than its budget holds at once must have evicted. (The two smallest fit
        // together, so whether any node must evict depends on which node each competition went to.)
        let evicted = try store.events(kind: "data_evicted")
        for node in ["na", "nb"] {
            let took = Self.competitions.filter { c in staged.contains { $0.hasPrefix("\(c) on \(node) ") } }
            if took.map(Self.dataBytes).reduce(0, +) > budget {
                XCTAssertTrue(evicted.contains { $0.contains("from \(node)") }, "\(node) took \(took) within \(budget) bytes without evicting: \(staged)")
            }
        }
        var waited = 0
        for r in try store.runs(sweep: "lazy") {
            let timeline = try store.timeline(runID: r.id)
            guard let dispatch = timeline.first(where: { $0.kind.hasPrefix("dispatch") }),
                  let node = try store.attempts(runID: r.id).first?.node else { return XCTFail("\(r.id) never dispatched: \(timeline.map(\.kind))") }
            XCTAssertTrue(readyAt.contains { $0.at <= dispatch.at && ($0.detail ?? "").hasPrefix("\(r.spec.competition) on \(node):") },
                          "\(r.id) dispatched on \(node) before \(r.spec.competition)'s data was verified there: \(timeline.map(\.kind))")
            if let s = timeline.firstIndex(where: { $0.kind == "stage" }), let d = timeline.firstIndex(where: { $0.kind.hasPrefix("dispatch") }) {
                XCTAssertLessThan(s, d)
                waited += 1
            }
        }
        XCTAssertGreaterThanOrEqual(waited, 3, "each competition's first run waits in staging")
        XCTAssertGreaterThanOrEqual(ready.count, staged.count)

        // What the state records is what the nodes' disks hold, within budget; no answers on any node.
        for (node, cache) in [("na", dir + "/cache-a"), ("nb", dir + "/cache-b")] {
            let rows = try store.nodeData().filter { $0.node == node }
            let onDisk = ((try? FileManager.default.contentsOfDirectory(atPath: cache)) ?? []).sorted()
            XCTAssertEqual(rows.map(\.competition).sorted(), onDisk, node)
            XCTAssertLessThanOrEqual(rows.reduce(Int64(0)) { $0 + $1.bytes }, budget, node)
            XCTAssertTrue(rows.allSatisfy { $0.state == "ready" }, "\(rows)")
            for c in onDisk { XCTAssertFalse(FileManager.default.fileExists(atPath: "\(cache)/\(c)/prepared/private"), "answers never go to a node") }
        }

        // `podium status` shows the caches.
        let podium = directoryOf(workerBinary) + "/podium"
        let status = ChildProcess.capture([podium, "status", "--state", dir + "/state.sqlite"], timeout: 30)
        XCTAssertEqual(status?.code, 0)
        XCTAssertTrue(status?.output.contains("data cache") == true && status?.output.contains("na") == true, status?.output ?? "")
    }

    /// One node, two runs of one competition placed together: the data is staged once and both runs use it.
    func testTwoRunsOfOneCompetitionOnOneNodeStageOnce() throws {
        let a = try TestSSHD()
        defer { a.stop() }
        let dir = makeTempDir("lazy-once")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
        {"nodes": [\(sshNode("na", a, dir: dir, cache: dir + "/cache", maxBytes: 10_000_000))]}
        """.write(toFile: dir + "/inventory.json", atomically: true, encoding: .utf8)
        try writeSweep(dir, competitions: ["wine-cultivar"], attempts: 2)
        let (runner, store) = try makeRunner(dir + "/sweep.json")
        XCTAssertEqual(try runner.run().counts[.completed], 2)
        let staged = try store.events(kind: "data_staged")
        XCTAssertEqual(staged.count, 1, "\(staged)")
        let runs = try store.runs(sweep: "lazy")
        let waits = try runs.flatMap { try store.runEvents(runID: $0.id) }.filter { $0.kind == "stage" }
        XCTAssertEqual(waits.count, 2, "both runs waited for the one staging")
        XCTAssertEqual(waits.filter { $0.detail?.contains("(being staged)") == true }.count, 1, "\(waits.map { $0.detail ?? "" })")
    }

    /// A node pulls from an http:// mirror (busybox httpd) and from a shared directory: byte ranges resume a partial
    /// file, verified files are not fetched again, and a mirror serving a changed file is refused with its name.
    func testWorkerPullsFromHTTPMirrorAndSharedDirectory() throws {
        guard FileManager.default.isExecutableFile(atPath: "/bin/busybox") || FileManager.default.isExecutableFile(atPath: "/usr/bin/busybox") else {
            throw XCTSkip("no busybox (apt-get install busybox-static)")
        }
        let dir = makeTempDir("lazy-pull")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let mirror = dir + "/mirror"
        let c = "handwritten-digits"
        try FileManager.default.createDirectory(atPath: mirror + "/\(c)/prepared", withIntermediateDirectories: true)
        let original = "\(repoRoot)/benchmark/mini-data/\(c)/prepared/public"
        XCTAssertEqual(ChildProcess.capture(["cp", "-r", original, mirror + "/\(c)/prepared/public"])?.code, 0)
        let m = try DataManifest.of(directory: original, cacheFile: nil)
        let big = try XCTUnwrap(m.files.max { $0.size < $1.size })
        let httpd = try Httpd(root: mirror)
        defer { httpd.stop() }

        func pull(_ source: String, into dest: String) throws -> (Int32, [String: Any]) {
            let child = try ChildProcess(arguments: [workerBinary, "stage", "--source", source, "--dest", dest], stdinPipe: true,
                                         stdoutPipe: true, stderr: .file(dir + "/stage.log"))
            let input = try JSONEncoder().encode(m)
            _ = input.withUnsafeBytes { writeAll(child.stdinFD, $0) }
            child.closeInput()
            var out = [UInt8]()
            var buf = [UInt8](repeating: 0, count: 65536)
            while true { let n = read(child.stdoutFD, &buf, buf.count); if n <= 0 { break }; out += buf[0..<n] }
            close(child.stdoutFD)
            let code = child.wait(timeout: 60)
            let line = String(decoding: out, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? "{}"
            return (code, (try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]) ?? [:])
        }
        let url = "http://127.0.0.1:\(httpd.port)/\(c)/prepared/public"
        let dest = dir + "/node-cache/\(c)/prepared/public"

        // Half of the largest file is already there from an interrupted pull: the mirror sends the rest (206).
        try FileManager.default.createDirectory(atPath: directoryOf(dest + "/" + big.path), withIntermediateDirectories: true)
        let whole = try XCTUnwrap(FileManager.default.contents(atPath: original + "/" + big.path))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: dest + "/" + big.path + ".part"))
        let (code, first) = try pull(url, into: dest)
        XCTAssertEqual(code, 0, "\(first)")
        XCTAssertEqual(first["ok"] as? Bool, true)
        XCTAssertEqual(first["resumed_files"] as? Int, 1, "\(first)")
        XCTAssertEqual((first["fetched_bytes"] as? NSNumber)?.int64Value, m.totalBytes - Int64(whole.count / 2), "\(first)")
        for f in m.files { XCTAssertEqual(SHA256.hex(fileAt: dest + "/" + f.path), f.sha256, f.path) }

        // Again: every file is trusted by the recorded manifest; nothing fetched.
        let (_, second) = try pull(url, into: dest)
        XCTAssertEqual(second["fetched_files"] as? Int, 0, "\(second)")

        // The mirror now serves a changed file: refused, named, and not kept.
        try FileManager.default.removeItem(atPath: dest + "/" + big.path)
        var changed = [UInt8](whole)
        changed[changed.count / 3] ^= 0x01
        try Data(changed).write(to: URL(fileURLWithPath: mirror + "/\(c)/prepared/public/" + big.path))
        let (badCode, bad) = try pull(url, into: dest)
        XCTAssertEqual(badCode, 1)
        XCTAssertEqual(bad["ok"] as? Bool, false)
        XCTAssertEqual(bad["file"] as? String, big.path)
        XCTAssertTrue((bad["error"] as? String)?.contains("does not match the coordinator's manifest") == true, "\(bad)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dest + "/" + big.path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dest + "/" + big.path + ".part"))

        // A shared directory (the original data) as the source repairs it.
        let (sharedCode, shared) = try pull(original, into: dest)
        XCTAssertEqual(sharedCode, 0, "\(shared)")
        XCTAssertEqual(shared["fetched_files"] as? Int, 1, "\(shared)")
        XCTAssertEqual(SHA256.hex(fileAt: dest + "/" + big.path), big.sha256)
    }

    /// A sweep whose nodes pull from a mirror: one from http:// (busybox httpd), one from a shared directory; a corrupt
    /// file on the mirror makes that node's staging fail as infrastructure (named), never as the agent's failure.
    func testSweepWithHTTPAndSharedSources() throws {
        let a = try TestSSHD(), b = try TestSSHD()
        defer { a.stop(); b.stop() }
        let dir = makeTempDir("lazy-sources")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let mirror = dir + "/mirror"
        try FileManager.default.createDirectory(atPath: mirror, withIntermediateDirectories: true)
        for c in Self.competitions {
            try FileManager.default.createDirectory(atPath: mirror + "/\(c)/prepared", withIntermediateDirectories: true)
            XCTAssertEqual(ChildProcess.capture(["cp", "-r", "\(repoRoot)/benchmark/mini-data/\(c)/prepared/public", mirror + "/\(c)/prepared/public"])?.code, 0)
        }
        let httpd = try Httpd(root: mirror)
        defer { httpd.stop() }
        try """
        {"nodes": [\(sshNode("web", a, dir: dir, cache: dir + "/cache-web", maxBytes: 10_000_000, source: "http://127.0.0.1:\(httpd.port)")),
                   \(sshNode("nfs", b, dir: dir, cache: dir + "/cache-nfs", maxBytes: 10_000_000, source: "\(repoRoot)/benchmark/mini-data"))]}
        """.write(toFile: dir + "/inventory.json", atomically: true, encoding: .utf8)
        try writeSweep(dir, competitions: Self.competitions, attempts: 1)
        let (runner, store) = try makeRunner(dir + "/sweep.json")
        XCTAssertEqual(try runner.run().counts[.completed], 3)
        let staged = try store.events(kind: "data_staged")
        XCTAssertTrue(staged.contains { $0.contains("on web from http://") }, "\(staged)")
        XCTAssertTrue(staged.contains { $0.contains("on nfs from /") }, "\(staged)")

        // A second sweep of a competition whose mirrored copy is corrupt, only on the http node: the node refuses the
        // file, names it, and the run ends as an infra failure — never run on unverified data.
        let c = "handwritten-digits"
        try FileManager.default.createDirectory(atPath: mirror + "/\(c)/prepared", withIntermediateDirectories: true)
        XCTAssertEqual(ChildProcess.capture(["cp", "-r", "\(repoRoot)/benchmark/mini-data/\(c)/prepared/public", mirror + "/\(c)/prepared/public"])?.code, 0)
        let m = try DataManifest.of(directory: "\(repoRoot)/benchmark/mini-data/\(c)/prepared/public", cacheFile: nil)
        let victim = try XCTUnwrap(m.files.first)
        try Data("not the data\n".utf8).write(to: URL(fileURLWithPath: mirror + "/\(c)/prepared/public/" + victim.path))
        try """
        {"nodes": [\(sshNode("web", a, dir: dir, cache: dir + "/cache-web", maxBytes: 10_000_000, source: "http://127.0.0.1:\(httpd.port)"))]}
        """.write(toFile: dir + "/inventory.json", atomically: true, encoding: .utf8)
        var text = try String(contentsOfFile: dir + "/sweep.json", encoding: .utf8)
        text = text.replacingOccurrences(of: "\"sweep\": \"lazy\"", with: "\"sweep\": \"corrupt\", \"max_infra_retries\": 1")
        text = text.replacingOccurrences(of: Self.competitions.map { "\"\($0)\"" }.joined(separator: ", "), with: "\"\(c)\"")
        try text.write(toFile: dir + "/corrupt.json", atomically: true, encoding: .utf8)
        let (r2, store2) = try makeRunner(dir + "/corrupt.json", retryBackoff: 0.2)
        XCTAssertEqual(try r2.run().counts[.failed], 1)
        let failed = try store2.events(kind: "data_stage_failed")
        XCTAssertFalse(failed.isEmpty)
        XCTAssertTrue(failed.allSatisfy { $0.contains(victim.path) && $0.contains("does not match the coordinator's manifest") }, "\(failed)")
        XCTAssertEqual(try store2.attempts(sweep: "corrupt").count, 0, "no attempt ever started on unverified data")
    }

    /// kill -9 of the coordinator once every file is on the node and before the node's manifest records them: the
    /// next `podium sweep` verifies the files on the node (hashes them there) and copies none again.
    func testKillDuringStagingResumesWithoutCopyingAgain() throws {
        let podium = directoryOf(workerBinary) + "/podium"
        guard FileManager.default.isExecutableFile(atPath: podium) else { throw XCTSkip("podium not built at \(podium)") }
        let a = try TestSSHD()
        defer { a.stop() }
        let dir = makeTempDir("lazy-kill")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
        {"nodes": [\(sshNode("na", a, dir: dir, cache: dir + "/cache", maxBytes: 10_000_000))]}
        """.write(toFile: dir + "/inventory.json", atomically: true, encoding: .utf8)
        try writeSweep(dir, competitions: ["breast-cancer-diagnosis"], attempts: 1)
        var env = ProcessInfo.processInfo.environment
        env["PODIUM_FAILPOINT"] = "staging-copied"
        let first = try ChildProcess(arguments: [podium, "sweep", dir + "/sweep.json", "--quiet"], environment: env, stdinPipe: false,
                                     stdoutPipe: false, stderr: .file(dir + "/first.log"))
        XCTAssertEqual(first.wait(timeout: 120), 128 + SIGKILL, (try? String(contentsOfFile: dir + "/first.log", encoding: .utf8)) ?? "")
        let store = try StateStore(path: dir + "/state.sqlite")
        XCTAssertEqual(try store.nodeData().map(\.state), ["staging"], "the staging was recorded before it began")
        XCTAssertEqual(try store.runs(sweep: "lazy").map(\.state), [.staging])
        let again = ChildProcess.capture([podium, "sweep", dir + "/sweep.json", "--quiet"], timeout: 180)
        XCTAssertEqual(again?.code, 0, again?.output ?? "")
        XCTAssertEqual(try store.runs(sweep: "lazy").map(\.state), [.completed])
        let staged = try store.events(kind: "data_staged")
        XCTAssertEqual(staged.count, 1, "\(staged)")
        XCTAssertTrue(staged[0].contains("0 bytes copied") && staged[0].contains("hashed on the node"), "\(staged)")
        let unstaged = try store.runEvents(runID: try store.runs(sweep: "lazy")[0].id).filter { $0.kind == "unstage" }
        XCTAssertEqual(unstaged.count, 1, "the restarted coordinator put the waiting run back: \(unstaged)")
    }
}

/// busybox httpd serving a directory on a free loopback port (it answers byte ranges with 206).
final class Httpd {
    let port: Int
    let process: ChildProcess
    init(root: String) throws {
        let busybox = FileManager.default.isExecutableFile(atPath: "/bin/busybox") ? "/bin/busybox" : "/usr/bin/busybox"
        port = TestSSHD.freePort()
        process = try ChildProcess(arguments: [busybox, "httpd", "-f", "-p", "127.0.0.1:\(port)", "-h", root], stdinPipe: false,
                                   stdoutPipe: false, stderr: .file("/dev/null"))
        let until = monotonicSeconds() + 10
        while monotonicSeconds() < until {
            if TestSSHD.canConnect(port) { return }
            sleepSeconds(0.05)
        }
        process.signal(SIGKILL)
        throw XCTSkip("busybox httpd did not start")
    }
    func stop() { process.signal(SIGKILL); _ = process.wait(timeout: 5) }
}
