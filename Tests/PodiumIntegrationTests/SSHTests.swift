import XCTest
import PodiumCore
import PodiumSSH
import PodiumStore
@testable import PodiumCoordinator
#if canImport(Glibc)
import Glibc
#endif
import PodiumSystem

/// The SSH transport against a real sshd on loopback.
final class SSHTests: XCTestCase {
    var sshd: TestSSHD!

    override func setUpWithError() throws { sshd = try TestSSHD() }
    override func tearDown() { sshd?.stop() }

    func testExecRoundTripAndExitCodes() throws {
        let s = try SSHSession(target: sshd.target())
        defer { s.disconnect() }
        XCTAssertTrue(s.hostKeyFingerprint.hasPrefix("SHA256:"))
        let (status, out) = try s.run("echo hello; echo err >&2; exit 3")
        XCTAssertEqual(status, 3)
        XCTAssertEqual(String(decoding: out, as: UTF8.self), "hello\n")
        let (s2, out2) = try s.run("cat", input: Array("ping".utf8))
        XCTAssertEqual(s2, 0)
        XCTAssertEqual(String(decoding: out2, as: UTF8.self), "ping")
        // Killed by a signal: no exit status on the wire (libssh2 says 0, as for success); reported as a shell does.
        for (signal, number) in [("TERM", Int32(15)), ("KILL", 9)] {
            let e = try s.exec("echo before; kill -\(signal) $$; echo after")
            e.closeWrite()
            XCTAssertEqual(String(decoding: e.readAll(), as: UTF8.self), "before\n")
            XCTAssertEqual(e.waitExit(timeout: 10), 128 + number, "killed by SIG\(signal) is a failure, never 0")
            XCTAssertEqual(e.exitSignal, signal)
            e.close()
        }
        let (s3, _) = try s.run("kill -TERM $$")
        XCTAssertEqual(s3, 143)
    }

    /// 1 GiB each way through exec channels, checksummed with sha256sum on both ends (the debug build's own hashing
    /// would dominate the time). sshd is on loopback, so "remote" files are local files too.
    func testStreamsOneGiBBothWaysWithMatchingChecksums() throws {
        let file = sshd.dir + "/blob"
        let mib = Int(ProcessInfo.processInfo.environment["PODIUM_SSH_TEST_MIB"] ?? "1024")!
        XCTAssertEqual(ChildProcess.capture(["dd", "if=/dev/urandom", "of=\(file)", "bs=1M", "count=\(mib)", "status=none"])?.code, 0)
        let expected = try XCTUnwrap(ChildProcess.capture(["sha256sum", file])?.output.split(separator: " ").first.map(String.init))
        let s = try SSHSession(target: sshd.target())
        defer { s.disconnect() }

        // remote → local: stream `cat` into a local sha256sum.
        let e = try s.exec("cat \(file)")
        let hasher = try ChildProcess(arguments: ["sha256sum"], stdinPipe: true, stdoutPipe: true)
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        var total = 0
        while true {
            let n = buf.withUnsafeMutableBytes { read(e.fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            total += n
            var off = 0
            while off < n { off += buf.withUnsafeBytes { write(hasher.stdinFD, $0.baseAddress! + off, n - off) } }
        }
        hasher.closeInput()
        var out = [UInt8](repeating: 0, count: 200)
        let k = out.withUnsafeMutableBytes { read(hasher.stdoutFD, $0.baseAddress, $0.count) }
        hasher.wait(timeout: 10)
        XCTAssertEqual(total, mib << 20)
        XCTAssertEqual(e.waitExit(timeout: 30), 0)
        XCTAssertEqual(String(decoding: out[0..<max(k, 0)], as: UTF8.self).split(separator: " ").first.map(String.init), expected)
        e.close()

        // local → remote: stream the file into a remote sha256sum.
        let up = try s.exec("sha256sum")
        let fd = open(file, O_RDONLY)
        BlockingThread.start {
            var b = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = b.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                up.writeAll(Array(b[0..<n]))
            }
            close(fd)
            up.closeWrite()
        }
        let remoteSum = String(decoding: up.readAll(), as: UTF8.self).split(separator: " ").first.map(String.init)
        XCTAssertEqual(up.waitExit(timeout: 30), 0)
        XCTAssertEqual(remoteSum, expected)
        up.close()
    }

    func testChangedHostKeyIsRefusedLoudly() throws {
        let otherPub = try String(contentsOfFile: sshd.dir + "/host2_ed25519.pub", encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
        try "[127.0.0.1]:\(sshd.port) \(otherPub)\n".write(toFile: sshd.knownHosts, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try SSHSession(target: sshd.target())) { error in
            let e = error as? SSHError
            XCTAssertEqual(e?.kind, .hostKeyChanged)
            XCTAssertTrue(e?.message.contains("HAS CHANGED") ?? false)
            XCTAssertEqual(e?.message.components(separatedBy: "SHA256:").count, 3, "both fingerprints are shown: \(e?.message ?? "")")
        }
    }

    /// `podium plan` (and so `podium sweep`) stops on a node whose host key changed, or that refuses podium's key: exit 2,
    /// the node and the fingerprints named, never "its runs go elsewhere".
    func testPlanRefusesAChangedHostKeyAndARefusedKey() throws {
        let podium = directoryOf(workerBinary) + "/podium"
        guard FileManager.default.isExecutableFile(atPath: podium) else { throw XCTSkip("podium not built at \(podium)") }
        let otherPub = try String(contentsOfFile: sshd.dir + "/host2_ed25519.pub", encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
        let dir = makeTempDir("hostkey")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let changed = dir + "/known_hosts"
        try "[127.0.0.1]:\(sshd.port) \(otherPub)\n".write(toFile: changed, atomically: true, encoding: .utf8)
        func plan(knownHosts: String, identity: String) throws -> (Int32, String) {
            try """
            {"nodes": [{"name": "gpu02", "transport": "ssh", "host": "127.0.0.1", "port": \(sshd.port), "user": "\(sshd.user)",
              "identity_file": "\(identity)", "known_hosts": "\(knownHosts)", "runtime": "process",
              "worker_command": ["\(workerBinary)"], "cpus": 2, "memory": "4g"}]}
            """.write(toFile: dir + "/inventory.json", atomically: true, encoding: .utf8)
            try """
            {"sweep": "hk", "agent": {"name": "a", "image": "unused", "command": ["true"]}, "competitions": ["wine-cultivar"],
             "budgets": ["1m"], "hardware": [{"name": "cpu", "cpus": 1, "memory": "512m"}], "inventory": "inventory.json",
             "mlebench_dir": "\(repoRoot)/benchmark/mini", "data_dir": "\(repoRoot)/benchmark/mini-data", "state": "state.sqlite"}
            """.write(toFile: dir + "/sweep.json", atomically: true, encoding: .utf8)
            let log = dir + "/plan.log"
            let child = try ChildProcess(arguments: ["/bin/sh", "-c", "exec \"$0\" plan \"$1\" > '\(log)' 2>&1", podium, dir + "/sweep.json"],
                                         stdinPipe: false, stdoutPipe: false)
            let code = child.wait(timeout: 120)
            return (code, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
        }
        let (code, out) = try plan(knownHosts: changed, identity: sshd.userKey)
        XCTAssertEqual(code, 2, out)
        XCTAssertTrue(out.contains("node gpu02") && out.contains("HAS CHANGED"), out)
        XCTAssertEqual(out.components(separatedBy: "SHA256:").count, 3, "both fingerprints: \(out)")
        XCTAssertFalse(out.contains("runs go elsewhere"), out)
        let (refusedCode, refused) = try plan(knownHosts: sshd.knownHosts, identity: sshd.dir + "/other_ed25519")
        XCTAssertEqual(refusedCode, 2, refused)
        XCTAssertTrue(refused.contains("node gpu02: the node refused podium's key") && refused.contains("authorized_keys"), refused)
    }

    func testUnknownHostKeyRefusedUnlessEnrolled() throws {
        try "".write(toFile: sshd.knownHosts, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try SSHSession(target: sshd.target())) { XCTAssertEqual(($0 as? SSHError)?.kind, .hostKeyUnknown) }
        var t = sshd.target()
        t.acceptNewHostKey = true
        try SSHSession(target: t).disconnect()
        let line = try String(contentsOfFile: sshd.knownHosts, encoding: .utf8)
        XCTAssertTrue(line.hasPrefix("[127.0.0.1]:\(sshd.port) ssh-ed25519 "), line)
        try SSHSession(target: sshd.target()).disconnect()  // now known, no enrollment flag needed
    }

    func testHashedKnownHostsEntry() throws {
        let pub = try String(contentsOfFile: sshd.hostKeyPub, encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
        try "[127.0.0.1]:\(sshd.port) \(pub)\n".write(toFile: sshd.knownHosts, atomically: true, encoding: .utf8)
        XCTAssertEqual(ChildProcess.capture(["ssh-keygen", "-H", "-f", sshd.knownHosts])?.code, 0)
        XCTAssertTrue(try String(contentsOfFile: sshd.knownHosts, encoding: .utf8).hasPrefix("|1|"))
        try SSHSession(target: sshd.target()).disconnect()
    }

    func testWrongUserKeyRefused() throws {
        var t = sshd.target()
        t.identityFile = sshd.dir + "/other_ed25519"
        XCTAssertThrowsError(try SSHSession(target: t)) {
            XCTAssertEqual(($0 as? SSHError)?.kind, .auth)
            XCTAssertTrue("\($0)".contains("authorized_keys"), "libssh2's words come with what to check: \($0)")
        }
    }

    func testStoppedPeerDetectedWithinBound() throws {
        let s = try SSHSession(target: sshd.target(keepalive: 1))
        defer { s.disconnect() }
        let e = try s.exec("sleep 120")
        sleepSeconds(0.5)
        let procs = sshd.connectionProcesses()
        XCTAssertFalse(procs.isEmpty)
        for p in procs { kill(p, SIGSTOP) }
        defer { for p in procs { kill(p, SIGCONT) } }
        let start = monotonicSeconds()
        _ = e.readAll()  // returns when the session declares the peer dead
        let detected = monotonicSeconds() - start
        XCTAssertEqual(s.error?.kind, .peerDead, "\(String(describing: s.error))")
        XCTAssertLessThan(detected, 3 + 3, "dead after 3 missed keepalives of 1 s (+ slack)")
        XCTAssertNil(e.waitExit(timeout: 1))
    }

    func testKilledPeerDetected() throws {
        let s = try SSHSession(target: sshd.target(keepalive: 1))
        defer { s.disconnect() }
        let e = try s.exec("sleep 120")
        sleepSeconds(0.3)
        for p in sshd.connectionProcesses() { kill(p, SIGKILL) }
        _ = e.readAll()
        XCTAssertNotNil(e.error ?? s.error, "the channel or the session reports the broken connection")
        let until = monotonicSeconds() + 5
        while s.error == nil && monotonicSeconds() < until { sleepSeconds(0.01) }
        XCTAssertNotNil(s.error, "a broken transport ends the session")
        XCTAssertThrowsError(try s.exec("true"))
    }

    func testManyConcurrentChannels() throws {
        let s = try SSHSession(target: sshd.target())
        defer { s.disconnect() }
        let results = Locked([Int: String]())
        let count = 24
        for i in 0..<count {
            BlockingThread.start {
                if let (st, out) = try? s.run("echo \(i); sleep 0.2; echo done-\(i)"), st == 0 {
                    results.withLock { $0[i] = String(decoding: out, as: UTF8.self) }
                }
            }
        }
        let until = monotonicSeconds() + 30
        while results.withLock({ $0.count }) < count && monotonicSeconds() < until { sleepSeconds(0.05) }
        XCTAssertEqual(results.withLock { $0.count }, count)
        for i in 0..<count { XCTAssertEqual(results.withLock { $0[i] }, "\(i)\ndone-\(i)\n") }
    }

    func testSSHConfigAliases() throws {
        let cfg = sshd.dir + "/config"
        try "Host gpu-alias\n  HostName 127.0.0.1\n  Port \(sshd.port)\n  User \(sshd.user)\n  IdentityFile \(sshd.userKey)\n"
            .write(toFile: cfg, atomically: true, encoding: .utf8)
        var node = NodeSpec(name: "n1", transport: .ssh, cpus: 1, memoryBytes: 1 << 30)
        node.host = "gpu-alias"
        node.knownHosts = sshd.knownHosts
        let t = SSHTarget.from(node: node, sshConfigPath: cfg)
        XCTAssertEqual(t.host, "127.0.0.1")
        XCTAssertEqual(t.port, sshd.port)
        XCTAssertEqual(t.identityFile, sshd.userKey)
        let s = try SSHSession(target: t)
        XCTAssertEqual(try s.run("echo ok").status, 0)
        s.disconnect()
    }
}

/// A sweep whose node is reached over SSH (real sshd on loopback), its worker started on the node over an exec channel.
final class SSHSweepTests: XCTestCase {
    func testSweepOverSSHTransport() throws {
        let sshd = try TestSSHD()
        defer { sshd.stop() }
        guard FileManager.default.isExecutableFile(atPath: workerBinary) else { return XCTFail("podium-worker not built at \(workerBinary)") }
        let dir = makeTempDir("sshsweep")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let inventory = """
        {"nodes": [{"name": "remote1", "transport": "ssh", "host": "127.0.0.1", "port": \(sshd.port), "user": "\(sshd.user)",
          "identity_file": "\(sshd.userKey)", "known_hosts": "\(sshd.knownHosts)", "runtime": "process", "cpus": 4, "memory": "4g",
          "worker_command": ["\(workerBinary)"], "work_dir": "\(dir)/remote-work"}]}
        """
        try inventory.write(toFile: dir + "/inventory.json", atomically: true, encoding: .utf8)
        let agent = #"echo "on $(hostname) seed=$AGENT_SEED"; cp "$DATA_DIR/sample_submission.csv" "$SUBMISSION_DIR/submission.csv""#
        let sweep = """
        {"sweep": "viassh", "agent": {"name": "copy", "image": "none", "command": ["/bin/sh", "-c", \(String(reflecting: agent))]},
         "competitions": ["breast-cancer-diagnosis", "diabetes-progression"], "attempts": 2, "budgets": ["20s"],
         "hardware": [{"name": "cpu", "cpus": 1, "memory": "1g"}], "inventory": "inventory.json",
         "mlebench_dir": "\(repoRoot)/benchmark/mini", "data_dir": "\(repoRoot)/benchmark/mini-data", "state": "state.sqlite"}
        """
        try sweep.write(toFile: dir + "/sweep.json", atomically: true, encoding: .utf8)
        let setup = try SweepSetup.load(configPath: dir + "/sweep.json", overrides: SweepOverrides())
        let store = try StateStore(path: setup.config.state)
        var options = SweepRunner.Options(workerCommand: [workerBinary])
        options.progress = false
        let outcome = try SweepRunner(setup: setup, store: store, options: options).run()
        XCTAssertEqual(outcome.counts[.completed], 4, "\(outcome.counts)")
        let (runs, results, _) = try SweepResults.collect(store: store, sweep: "viassh")
        XCTAssertTrue(results.allSatisfy { $0.graded && $0.validSubmission })
        for r in runs {
            let log = try String(contentsOfFile: dir + "/runs/viassh/\(r.id)/e1/agent.log", encoding: .utf8)
            XCTAssertTrue(log.contains("seed=\(r.spec.attempt)"), log)
            XCTAssertEqual(try store.attempts(runID: r.id).map(\.node), ["remote1"])
        }
        let daemonLog = try String(contentsOfFile: dir + "/remote-work/daemon.log", encoding: .utf8)
        XCTAssertTrue(daemonLog.contains("coordinator podium"), "the node's daemon served the coordinator: \(daemonLog)")
    }
}

final class SSHTransferTests: XCTestCase {
    func testDownloadUploadResumeAndCorruption() throws {
        let sshd = try TestSSHD()
        defer { sshd.stop() }
        let s = try SSHSession(target: sshd.target())
        defer { s.disconnect() }
        let src = sshd.dir + "/src.bin"
        XCTAssertEqual(ChildProcess.capture(["dd", "if=/dev/urandom", "of=\(src)", "bs=1M", "count=8", "status=none"])?.code, 0)
        let want = try XCTUnwrap(ChildProcess.capture(["sha256sum", src])?.output.split(separator: " ").first.map(String.init))

        let dst = sshd.dir + "/dst.bin"
        let r = try s.download(remote: src, to: dst)
        XCTAssertEqual(r.bytes, 8 << 20)
        XCTAssertEqual(r.sha256, want)
        XCTAssertEqual(r.resumedFrom, 0)

        // An interrupted download leaves a .part: the next one resumes from it.
        let dst2 = sshd.dir + "/dst2.bin"
        XCTAssertEqual(ChildProcess.capture(["sh", "-c", "head -c 3000000 \(src) > \(dst2).part"])?.code, 0)
        let resumed = try s.download(remote: src, to: dst2)
        XCTAssertEqual(resumed.resumedFrom, 3_000_000)
        XCTAssertEqual(resumed.sha256, want)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dst2 + ".part"))

        // A corrupt .part is caught by the checksum and discarded.
        let dst3 = sshd.dir + "/dst3.bin"
        XCTAssertEqual(ChildProcess.capture(["sh", "-c", "head -c 1000 /dev/zero > \(dst3).part"])?.code, 0)
        XCTAssertThrowsError(try s.download(remote: src, to: dst3)) { XCTAssertTrue("\($0)".contains("sha256 mismatch"), "\($0)") }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dst3 + ".part"))
        XCTAssertEqual(try s.download(remote: src, to: dst3).sha256, want, "then a fresh copy succeeds")

        // Upload, resuming a partial remote file.
        let up = sshd.dir + "/up.bin"
        XCTAssertEqual(ChildProcess.capture(["sh", "-c", "head -c 2000000 \(src) > \(up).part"])?.code, 0)
        let u = try s.upload(local: src, to: up)
        XCTAssertEqual(u.resumedFrom, 2_000_000)
        XCTAssertEqual(ChildProcess.capture(["sha256sum", up])?.output.split(separator: " ").first.map(String.init), want)
    }

    /// A download split over several connections: byte ranges, each over a session of its own, one whole-file sha256.
    func testMultiStreamDownloadResumesItsRanges() throws {
        let sshd = try TestSSHD()
        defer { sshd.stop() }
        let s = try SSHSession(target: sshd.target())
        defer { s.disconnect() }
        let mib = 1 << 20
        let src = sshd.dir + "/src.bin"
        XCTAssertEqual(ChildProcess.capture(["dd", "if=/dev/urandom", "of=\(src)", "bs=1M", "count=8", "status=none"])?.code, 0)
        let want = try XCTUnwrap(ChildProcess.capture(["sha256sum", src])?.output.split(separator: " ").first.map(String.init))
        let bytes = try XCTUnwrap(FileManager.default.contents(atPath: src))

        let dst = sshd.dir + "/three.bin"
        let r = try s.download(remote: src, to: dst, streams: 3, minBytesPerStream: Int64(mib))
        XCTAssertEqual(r.bytes, Int64(8 * mib))
        XCTAssertEqual(r.sha256, want)
        XCTAssertEqual(FileManager.default.contents(atPath: dst), bytes)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dst + ".part"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dst + ".part.ranges"))

        // An interrupted two-range download: bytes 0..<1 MiB and 4..<5 MiB are in, zeros elsewhere; the ranges file says so.
        func interrupted(_ path: String, second: Data, size: Int = 8 << 20) throws {
            var part = Data(count: 5 * mib)
            part.replaceSubrange(0..<mib, with: bytes[0..<mib])
            part.replaceSubrange(4 * mib..<5 * mib, with: second)
            try part.write(to: URL(fileURLWithPath: path + ".part"))
            let ranges = "{\"size\": \(size), \"ranges\": [{\"start\": 0, \"end\": \(4 * mib), \"done\": \(mib)}, {\"start\": \(4 * mib), \"end\": \(8 * mib), \"done\": \(5 * mib)}]}"
            try Data(ranges.utf8).write(to: URL(fileURLWithPath: path + ".part.ranges"))
        }
        let dst2 = sshd.dir + "/resumed.bin"
        try interrupted(dst2, second: bytes[4 * mib..<5 * mib])
        let resumed = try s.download(remote: src, to: dst2, streams: 2, minBytesPerStream: Int64(mib))
        XCTAssertEqual(resumed.resumedFrom, Int64(2 * mib), "each range goes on from where it stopped")
        XCTAssertEqual(resumed.sha256, want)
        XCTAssertEqual(FileManager.default.contents(atPath: dst2), bytes)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dst2 + ".part.ranges"))

        // Damaged bytes in a range recorded as done: the whole-file sha256 catches them; both files go.
        let dst3 = sshd.dir + "/damaged.bin"
        try interrupted(dst3, second: Data(repeating: 7, count: mib))
        XCTAssertThrowsError(try s.download(remote: src, to: dst3, streams: 2, minBytesPerStream: Int64(mib))) {
            XCTAssertTrue("\($0)".contains("sha256 mismatch"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dst3 + ".part"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dst3 + ".part.ranges"))

        // A ranges file for another size (the node's file changed): what is there is discarded, the copy starts over.
        let dst4 = sshd.dir + "/stale.bin"
        try interrupted(dst4, second: bytes[4 * mib..<5 * mib], size: 9 << 20)
        let fresh = try s.download(remote: src, to: dst4, streams: 2, minBytesPerStream: Int64(mib))
        XCTAssertEqual(fresh.resumedFrom, 0)
        XCTAssertEqual(fresh.sha256, want)

        // A real interruption: the node's copy of the second range is stopped as it starts, then killed. The download
        // fails and keeps what it has; the next one finishes from there.
        let big = sshd.dir + "/big.bin"
        XCTAssertEqual(ChildProcess.capture(["dd", "if=/dev/urandom", "of=\(big)", "bs=1M", "count=64", "status=none"])?.code, 0)
        let bigWant = try XCTUnwrap(ChildProcess.capture(["sha256sum", big])?.output.split(separator: " ").first.map(String.init))
        let pattern = "tail -c [+]\(32 * mib + 1) -- \(big)"  // a regular expression: + in brackets
        let stopper = Thread {
            for _ in 0..<2000 {
                if ChildProcess.capture(["pkill", "-STOP", "-f", pattern])?.code == 0 { break }
                usleep(2000)
            }
            usleep(300_000)
            _ = ChildProcess.capture(["pkill", "-TERM", "-f", pattern])
            _ = ChildProcess.capture(["pkill", "-CONT", "-f", pattern])
        }
        stopper.start()
        let dst5 = sshd.dir + "/killed.bin"
        XCTAssertThrowsError(try s.download(remote: big, to: dst5, streams: 2, minBytesPerStream: Int64(mib))) {
            XCTAssertTrue("\($0)".contains("for a resume"), "\($0)")
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: dst5 + ".part.ranges"))
        let after = try s.download(remote: big, to: dst5, streams: 2, minBytesPerStream: Int64(mib))
        XCTAssertGreaterThanOrEqual(after.resumedFrom, Int64(32 * mib), "the first range was whole")
        XCTAssertLessThan(after.resumedFrom, Int64(64 * mib), "the second was not")
        XCTAssertEqual(after.sha256, bigWant)
        XCTAssertEqual(ChildProcess.capture(["cmp", big, dst5])?.code, 0)
    }

    func testNodesCheckOverSSH() throws {
        let sshd = try TestSSHD()
        defer { sshd.stop() }
        var node = NodeSpec(name: "probe", transport: .ssh, cpus: 1, memoryBytes: 1 << 30)
        node.host = "127.0.0.1"
        node.port = sshd.port
        node.user = sshd.user
        node.identityFile = sshd.userKey
        node.knownHosts = sshd.knownHosts
        node.workerCommand = [workerBinary]
        node.runtime = .process
        let r = NodeProbe.check(node, localWorker: [workerBinary])
        XCTAssertTrue(r.ok, r.error ?? "")
        XCTAssertEqual(r.worker, podiumVersion)
        XCTAssertGreaterThan(r.cpus ?? 0, 0)
        // Issue 21: mawk's printf "%d" capped the probe at 2^31 − 1 bytes (a 24 GiB machine read as 2.0 GiB).
        let meminfo = try String(contentsOfFile: "/proc/meminfo", encoding: .utf8)
        let totalKB = Double(meminfo.split(separator: "\n").first { $0.hasPrefix("MemTotal:") }!.split(separator: " ")[1])!
        XCTAssertEqual(Double(r.memory_bytes ?? 0), totalKB * 1024, accuracy: totalKB * 1024 * 0.05, "within 5% of /proc/meminfo")
        XCTAssertTrue(r.host_key?.hasPrefix("SHA256:") ?? false)
        XCTAssertLessThan(abs(r.clock_skew_seconds ?? 99), 2)
        node.knownHosts = sshd.dir + "/empty_known_hosts"
        let refused = NodeProbe.check(node, localWorker: [workerBinary])
        XCTAssertFalse(refused.ok)
        XCTAssertTrue(refused.error?.contains("unknown host key") ?? false, refused.error ?? "")
    }
}

/// A node that disappears: its attempts wait `lost_after`, then run again elsewhere with a higher epoch.
final class LostNodeTests: XCTestCase {
    func testUnreachableNodeIsRequeuedAfterLostAfter() throws {
        let sshd = try TestSSHD()
        let dir = makeTempDir("lostnode")
        defer {
            sshd.stop()
            _ = ChildProcess.capture([workerBinary, "stop", "--work-dir", dir + "/remote-work"])
            try? FileManager.default.removeItem(atPath: dir)
        }
        try """
        {"nodes": [
          {"name": "remote", "transport": "ssh", "host": "127.0.0.1", "port": \(sshd.port), "user": "\(sshd.user)",
           "identity_file": "\(sshd.userKey)", "known_hosts": "\(sshd.knownHosts)", "runtime": "process", "cpus": 1, "memory": "4g",
           "keepalive": 1, "worker_command": ["\(workerBinary)"], "work_dir": "\(dir)/remote-work"},
          {"name": "spare", "transport": "local", "runtime": "process", "cpus": 2, "memory": "4g"}]}
        """.write(toFile: dir + "/inventory.json", atomically: true, encoding: .utf8)
        let agent = #"sleep 20; cp "$DATA_DIR/sample_submission.csv" "$SUBMISSION_DIR/submission.csv""#
        try """
        {"sweep": "lost", "agent": {"name": "sleepy", "image": "none", "command": ["/bin/sh", "-c", \(String(reflecting: agent))]},
         "competitions": ["wine-cultivar"], "attempts": 2, "budgets": ["60s"], "lost_after": "3s",
         "hardware": [{"name": "cpu", "cpus": 1, "memory": "1g"}], "inventory": "inventory.json",
         "mlebench_dir": "\(repoRoot)/benchmark/mini", "data_dir": "\(repoRoot)/benchmark/mini-data", "state": "state.sqlite"}
        """.write(toFile: dir + "/sweep.json", atomically: true, encoding: .utf8)
        let (runner, store) = try makeRunner(dir + "/sweep.json")
        let outcome = runInBackground(runner)
        sleepSeconds(2)
        sshd.pause()  // the node vanishes (its daemon, here on this machine, keeps running the attempt)
        // Once its attempt is declared lost (and requeued), the node comes back while that stale attempt still runs.
        let lostBy = monotonicSeconds() + 30
        while monotonicSeconds() < lostBy, (try? store.attempts(sweep: "lost"))?.contains(where: { $0.outcome == .lost }) != true { sleepSeconds(0.2) }
        try sshd.resume()
        let until = monotonicSeconds() + 90
        while outcome.withLock({ $0 }) == nil && monotonicSeconds() < until { sleepSeconds(0.2) }
        let result = try XCTUnwrap(outcome.withLock { $0 }).get()
        XCTAssertEqual(result.counts[.completed], 2, "\(result.counts)")
        var moved = 0
        for r in try store.runs(sweep: "lost") {
            let attempts = try store.attempts(runID: r.id)
            if attempts.first?.node == "remote" {
                XCTAssertEqual(attempts.map(\.outcome), [.lost, .completed])
                XCTAssertEqual(attempts.map(\.node), ["remote", "spare"])
                XCTAssertEqual(attempts.map(\.epoch), [1, 2])
                moved += 1
            } else {
                XCTAssertEqual(attempts.map(\.outcome), [.completed])
            }
        }
        XCTAssertEqual(moved, 1)
        // The returning node's stale attempt (epoch 1) was stopped, not left to finish or be collected.
        let fenced = try store.events(kind: "fenced")
        XCTAssertEqual(fenced.count, 1, "\(fenced)")
        let lostRun = try XCTUnwrap(try store.runs(sweep: "lost").first { (try? store.attempts(runID: $0.id))?.first?.node == "remote" })
        // The node keeps the sweep's attempts under its tenant id (the name plus a digest of the state's creation).
        let tenantDir = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: dir + "/remote-work").first { $0.hasPrefix("lost.") })
        let resultFile = dir + "/remote-work/\(tenantDir)/\(lostRun.id)/e1/result.json"
        if let data = FileManager.default.contents(atPath: resultFile) {
            let outcome = (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["outcome"] as? String
            XCTAssertEqual(outcome, "cancelled", "the fenced attempt did not run to completion")
        }
        XCTAssertEqual(try store.grades(sweep: "lost").filter { $0.runID == lostRun.id }.map(\.epoch).sorted().first, 2,
                       "only the new epoch is graded")
    }
}

/// The node-side digest command: OpenSSL when the node has it, else coreutils; both read back alike, also for names
/// that start with '-' or hold spaces.
final class RemoteDigestTests: XCTestCase {
    func testOpenSSLAndSha256sumAgree() throws {
        let dir = makeTempDir("digestcmd")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let names = ["plain.csv", "-dash.bin", "with space.txt"]
        var want = [String: String]()
        for (i, n) in names.enumerated() {
            let bytes = Array("file \(i)\n".utf8) + [UInt8](repeating: UInt8(i), count: 1000 * (i + 1))
            FileManager.default.createFile(atPath: dir + "/" + n, contents: Data(bytes))
            want[n] = SHA256.hex(bytes)
        }
        // Only sha256sum on the PATH (`command -v` is the shell's own), then the full PATH with openssl.
        let onlyCoreutils = dir + "/bin"
        try FileManager.default.createDirectory(atPath: onlyCoreutils, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: onlyCoreutils + "/sha256sum", withDestinationPath: "/usr/bin/sha256sum")
        for path in [onlyCoreutils, "/usr/bin:/bin"] {
            let out = try XCTUnwrap(ChildProcess.capture(["/usr/bin/env", "PATH=\(path)", "/bin/sh", "-c",
                                                          "cd \(shellQuote(dir)) && { \(remoteSHA256Command(names + ["missing"])); } 2>/dev/null"]))
            XCTAssertEqual(parseSHA256Lines(Array(out.output.utf8), for: names + ["missing"]), want, "PATH=\(path)")
        }
    }
}
