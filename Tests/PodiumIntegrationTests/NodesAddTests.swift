import XCTest
import PodiumCore
import PodiumSystem

/// Issue 21: `nodes add` refused a node already in the inventory — what the host-key error told the user to run.
final class NodesAddTests: XCTestCase {
    func testEnrollExistingNodeAndAddANewOneWithProbedResources() throws {
        let podium = directoryOf(workerBinary) + "/podium"
        guard FileManager.default.isExecutableFile(atPath: podium) else { throw XCTSkip("podium not built at \(podium)") }
        let sshd = try TestSSHD()
        defer { sshd.stop() }
        let dir = makeTempDir("nodes-add")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let kh = dir + "/known_hosts"
        try "".write(toFile: kh, atomically: true, encoding: .utf8)
        let inventory = """
        {
          "$comment": "kept as written",
          "nodes": [
            {"name": "remote1", "host": "127.0.0.1", "port": \(sshd.port), "user": "\(sshd.user)", "identity_file": "\(sshd.userKey)",
             "known_hosts": "known_hosts", "gpus": 0, "cpus": 1, "memory": "1g"}
          ]
        }
        """
        try inventory.write(toFile: dir + "/inv.json", atomically: true, encoding: .utf8)
        func podiumRun(_ args: [String]) throws -> (Int32, String) {
            let child = try ChildProcess(arguments: [podium] + args, stdinPipe: false, stdoutPipe: false, stderr: .file(dir + "/out.txt"))
            let code = child.wait(timeout: 60)
            return (code, (try? String(contentsOfFile: dir + "/out.txt", encoding: .utf8)) ?? "")
        }
        let (refused, why) = try podiumRun(["nodes", "add", "remote1", "--inventory", dir + "/inv.json"])
        XCTAssertNotEqual(refused, 0)
        XCTAssertTrue(why.contains("--accept-new-host-key"), why)
        let (enrolled, _) = try podiumRun(["nodes", "add", "remote1", "--accept-new-host-key", "--inventory", dir + "/inv.json"])
        XCTAssertEqual(enrolled, 0)
        XCTAssertFalse(try String(contentsOfFile: kh, encoding: .utf8).isEmpty, "the host key is recorded")
        XCTAssertEqual(try String(contentsOfFile: dir + "/inv.json", encoding: .utf8), inventory, "the inventory is untouched")

        let (added, out) = try podiumRun(["nodes", "add", "remote2", "--host", "127.0.0.1", "--port", "\(sshd.port)", "--user", sshd.user,
                                          "--identity-file", sshd.userKey, "--known-hosts", kh, "--inventory", dir + "/inv.json"])
        XCTAssertEqual(added, 0, out)
        let inv = try Inventory.load(path: dir + "/inv.json")
        XCTAssertEqual(inv.nodes.map(\.name), ["remote1", "remote2"])
        let nproc = Double(ChildProcess.capture(["nproc"])?.output.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
        XCTAssertEqual(inv.nodes[1].cpus, nproc, "CPUs probed on the node")
        XCTAssertGreaterThan(inv.nodes[1].memoryBytes, 1 << 30, "memory probed on the node")
        XCTAssertTrue(try String(contentsOfFile: dir + "/inv.json", encoding: .utf8).contains("\"$comment\": \"kept as written\""))
    }
}
