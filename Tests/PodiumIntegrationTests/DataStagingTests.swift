import XCTest
import PodiumCore
import PodiumProtocol
import PodiumStore
import PodiumSSH
@testable import PodiumCoordinator

/// Before a node gets work it must hold the competitions' public data: pushed over SSH when missing, checked by size
/// and recorded sha256, repaired when a file changed on the node — and the answers never go there.
final class DataStagingTests: XCTestCase {
    func testSweepStagesPublicDataOverSSHAndRepairsIt() throws {
        let sshd = try TestSSHD()
        defer { sshd.stop() }
        guard FileManager.default.isExecutableFile(atPath: workerBinary) else { return XCTFail("podium-worker not built at \(workerBinary)") }
        let dir = makeTempDir("staging")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let nodeData = dir + "/node-data"
        try """
        {"nodes": [{"name": "remote1", "transport": "ssh", "host": "127.0.0.1", "port": \(sshd.port), "user": "\(sshd.user)",
          "identity_file": "\(sshd.userKey)", "known_hosts": "\(sshd.knownHosts)", "runtime": "process", "cpus": 2, "memory": "4g",
          "worker_command": ["\(workerBinary)"], "work_dir": "\(dir)/remote-work", "data_dir": "\(nodeData)"}]}
        """.write(toFile: dir + "/inventory.json", atomically: true, encoding: .utf8)
        // The agent can only succeed if the data is there: it copies the public sample submission.
        let agent = #"cp "$DATA_DIR/sample_submission.csv" "$SUBMISSION_DIR/submission.csv""#
        try """
        {"sweep": "staged", "agent": {"name": "copy", "image": "none", "command": ["/bin/sh", "-c", \(String(reflecting: agent))]},
         "competitions": ["breast-cancer-diagnosis", "wine-cultivar"], "attempts": 1, "budgets": ["20s"],
         "hardware": [{"name": "cpu", "cpus": 1, "memory": "1g"}], "inventory": "inventory.json",
         "mlebench_dir": "\(repoRoot)/benchmark/mini", "data_dir": "\(repoRoot)/benchmark/mini-data", "state": "state.sqlite"}
        """.write(toFile: dir + "/sweep.json", atomically: true, encoding: .utf8)
        func sweep() throws -> (SweepRunner.Outcome, StateStore) {
            let (runner, store) = try makeRunner(dir + "/sweep.json")
            return (try runner.run(), store)
        }
        let (outcome, store) = try sweep()
        XCTAssertEqual(outcome.counts[.completed], 2, "\(outcome.counts)")
        let (_, results, _) = try SweepResults.collect(store: store, sweep: "staged")
        XCTAssertTrue(results.allSatisfy { $0.graded && $0.validSubmission }, "\(results)")

        for c in ["breast-cancer-diagnosis", "wine-cultivar"] {
            let local = repoRoot + "/benchmark/mini-data/\(c)/prepared/public", remote = nodeData + "/\(c)/prepared/public"
            let m = try DataManifest.of(directory: local, cacheFile: nil)
            XCTAssertFalse(m.files.isEmpty)
            for f in m.files { XCTAssertEqual(SHA256.hex(fileAt: remote + "/" + f.path), f.sha256, "\(c)/\(f.path)") }
            XCTAssertTrue(FileManager.default.fileExists(atPath: remote + "/" + DataManifest.fileName))
            XCTAssertFalse(FileManager.default.fileExists(atPath: nodeData + "/\(c)/prepared/private"), "answers never go to a node")
        }
        let staged = try store.events(kind: "data_staged")
        XCTAssertEqual(staged.count, 2)
        XCTAssertTrue(staged.allSatisfy { $0.contains("hashed on node 0") && !$0.contains("pushed 0 ") }, "\(staged)")

        // Damage the node's copy: one file changed (same size), one deleted. The next coordinator start repairs both
        // and leaves the intact ones alone.
        let victim = nodeData + "/wine-cultivar/prepared/public/train.csv"
        var bytes = [UInt8](FileManager.default.contents(atPath: victim)!)
        bytes[bytes.count / 2] = bytes[bytes.count / 2] == 0x31 ? 0x32 : 0x31
        try Data(bytes).write(to: URL(fileURLWithPath: victim))
        try FileManager.default.removeItem(atPath: nodeData + "/breast-cancer-diagnosis/prepared/public/sample_submission.csv")
        // The recorded hash no longer describes the changed file: drop the record so the node's copy is re-hashed.
        try FileManager.default.removeItem(atPath: nodeData + "/wine-cultivar/prepared/public/" + DataManifest.fileName)
        _ = try sweep()
        let again = try store.events(kind: "data_staged").suffix(2)
        XCTAssertTrue(again.contains { $0.hasPrefix("breast-cancer-diagnosis") && $0.contains("pushed 1 ") }, "\(again)")
        XCTAssertTrue(again.contains { $0.hasPrefix("wine-cultivar") && $0.contains("pushed 1 ") && !$0.contains("hashed on node 0") }, "\(again)")
        let local = repoRoot + "/benchmark/mini-data/wine-cultivar/prepared/public/train.csv"
        XCTAssertEqual(SHA256.hex(fileAt: victim), SHA256.hex(fileAt: local), "the changed file was replaced")
    }

    func testStagingDecisionsWithLocalFiles() throws {
        let dir = makeTempDir("stage-local")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let src = dir + "/src", dst = dir + "/dst"
        try FileManager.default.createDirectory(atPath: src + "/sub", withIntermediateDirectories: true)
        try "a,b\n1,2\n".write(toFile: src + "/a.csv", atomically: true, encoding: .utf8)
        try "nested".write(toFile: src + "/sub/n.txt", atomically: true, encoding: .utf8)
        let m = try DataManifest.of(directory: src, cacheFile: dir + "/cache.json")
        XCTAssertEqual(m.files.map(\.path), ["a.csv", "sub/n.txt"])
        let first = try DataStaging.stage(manifest: m, localDir: src, remoteDir: dst, node: LocalNodeFiles())
        XCTAssertEqual([first.pushedFiles, first.hashedOnNode], [2, 0])
        let second = try DataStaging.stage(manifest: m, localDir: src, remoteDir: dst, node: LocalNodeFiles())
        XCTAssertEqual([second.pushedFiles, second.hashedOnNode], [0, 0], "recorded hashes are trusted: nothing read again")
        // A copy made by someone else (no manifest) is hashed once, then trusted.
        try FileManager.default.removeItem(atPath: dst + "/" + DataManifest.fileName)
        let third = try DataStaging.stage(manifest: m, localDir: src, remoteDir: dst, node: LocalNodeFiles())
        XCTAssertEqual([third.pushedFiles, third.hashedOnNode], [0, 2])
        // The cache spares re-hashing the source when nothing changed.
        XCTAssertEqual(try DataManifest.of(directory: src, cacheFile: dir + "/cache.json"), m)
    }
}

/// Many small files reach an SSH node in batches (one tar stream and one digest pass each), long paths and odd names
/// included; what a batch cannot carry goes one by one; every file verifies.
final class BatchedStagingTests: XCTestCase {
    func testManySmallFilesStagedInBatchesOverSSH() throws {
        let sshd = try TestSSHD()
        defer { sshd.stop() }
        let dir = makeTempDir("batch-stage")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let src = dir + "/src", dst = dir + "/node/public"
        let longDir = String(repeating: "d", count: 90) + "/" + String(repeating: "e", count: 60)
        var paths = (0..<300).map { "images/\($0 % 7)/img \($0).png" }
        paths += [longDir + "/" + String(repeating: "f", count: 80) + ".csv",   // needs the ustar prefix field
                  String(repeating: "x", count: 120) + ".bin",                 // no '/' to split: one by one
                  "-leading-dash.txt", "empty.txt"]
        for (i, p) in paths.enumerated() {
            try FileManager.default.createDirectory(atPath: directoryOf(src + "/" + p), withIntermediateDirectories: true)
            let body = p == "empty.txt" ? [] : Array("file \(i) \(p)\n".utf8) + [UInt8](repeating: UInt8(i % 251), count: (i * 37) % 3000)
            _ = FileManager.default.createFile(atPath: src + "/" + p, contents: Data(body))
        }
        let m = try DataManifest.of(directory: src, cacheFile: nil)
        XCTAssertEqual(m.files.count, paths.count)
        let session = try SSHSession(target: sshd.target())
        defer { session.disconnect() }
        let r = try DataStaging.stage(manifest: m, localDir: src, remoteDir: dst, node: SSHNodeFiles(session: session))
        XCTAssertEqual(r.pushedFiles, paths.count)
        for f in m.files { XCTAssertEqual(SHA256.hex(fileAt: dst + "/" + f.path), f.sha256, f.path) }
        // A second pass trusts the recorded hashes and sends nothing.
        let again = try DataStaging.stage(manifest: m, localDir: src, remoteDir: dst, node: SSHNodeFiles(session: session))
        XCTAssertEqual([again.pushedFiles, again.hashedOnNode], [0, 0])
        // The ustar header is what tar expects (checked by the system's tar, not by our reader).
        let h = try XCTUnwrap(TarWriter.header(path: longDir + "/name.csv", size: 12345))
        XCTAssertEqual(h.count, 512)
        XCTAssertNil(TarWriter.header(path: String(repeating: "y", count: 101), size: 1))
    }
}
