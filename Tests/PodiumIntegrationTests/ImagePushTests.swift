import XCTest
import PodiumCore
import PodiumSSH
import PodiumWorker
import PodiumSystem
@testable import PodiumCoordinator

/// Issue 21: images onto nodes without a registry — save here, verified copy over a real sshd, load there, id checked.
/// The "node" is this machine behind sshd, so its engine is this one: `force` makes it load what it already has (the
/// copy, the load and the id check all run).
final class ImagePushTests: XCTestCase {
    func testPushImageOverSSHLoadsAndVerifiesTheImageID() throws {
        let engine = try requireDocker()
        let sshd = try TestSSHD()
        defer { sshd.stop() }
        let dir = makeTempDir("push-image")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let node = try JSONDecoder().decode(Inventory.self, from: Data("""
        {"nodes": [{"name": "remote1", "transport": "ssh", "host": "127.0.0.1", "port": \(sshd.port), "user": "\(sshd.user)",
          "identity_file": "\(sshd.userKey)", "known_hosts": "\(sshd.knownHosts)", "cpus": 1, "memory": "1g"}]}
        """.utf8)).nodes[0]
        let id = try XCTUnwrap(try engine.imageID(testImage))
        let saved = dir + "/image.tar"
        try engine.saveImage(testImage, to: saved)
        XCTAssertGreaterThan(fileSize(saved), 100_000, "a docker save tar")

        XCTAssertEqual(try ImagePush.push(image: testImage, imageID: id, saved: saved, to: node), .alreadyThere(id: id))
        guard case .loaded(let loaded, let bytes, _) = try ImagePush.push(image: testImage, imageID: id, saved: saved, to: node, force: true) else {
            return XCTFail("expected a load")
        }
        XCTAssertEqual(loaded, id)
        XCTAssertEqual(bytes, fileSize(saved))
        // A different id than the node ends up with is refused, naming both.
        XCTAssertThrowsError(try ImagePush.push(image: testImage, imageID: "sha256:0000", saved: saved, to: node)) { e in
            XCTAssertTrue("\(e)".contains("sha256:0000") && "\(e)".contains(id), "\(e)")
        }
    }
}
