import XCTest
import PodiumCore
@testable import PodiumWorker
import PodiumSystem

/// Containers belong to the daemon that started them: two daemons on one Docker Engine with the same node name (two
/// users' workers on a shared GPU server, two sweeps' local daemons) never remove each other's containers.
final class DaemonOwnershipTests: XCTestCase {
    func container(_ engine: DockerEngine, name: String, labels: [String: String]) throws -> String {
        let spec = DockerEngine.CreateSpec(name: name, image: testImage, command: ["sleep", "60"], env: [:], labels: labels, binds: [],
                                           nanoCPUs: 100_000_000, memoryBytes: 64 << 20, shmBytes: 1 << 20, pidsLimit: 64, network: false,
                                           gpuUUIDs: [], workingDir: "/")
        let id = try engine.create(spec)
        try engine.start(id)
        return id
    }

    func testADaemonRemovesOnlyItsOwnOrphansNeverAnotherDaemonsContainers() throws {
        let engine = try requireDocker()
        let a = makeTempDir("daemon-a"), b = makeTempDir("daemon-b")
        defer { try? FileManager.default.removeItem(atPath: a); try? FileManager.default.removeItem(atPath: b) }
        let first = WorkerServer(node: "local", workDir: a, runtime: ProcessRuntime(), version: "t", capacity: (cpus: 1, memoryBytes: 1 << 30))
        let second = WorkerServer(node: "local", workDir: b, runtime: ProcessRuntime(), version: "t", capacity: (cpus: 1, memoryBytes: 1 << 30))
        XCTAssertNotEqual(first.daemonID, second.daemonID, "each work directory has a daemon id of its own")
        let again = WorkerServer(node: "local", workDir: a, runtime: ProcessRuntime(), version: "t", capacity: (cpus: 1, memoryBytes: 1 << 30))
        XCTAssertEqual(again.daemonID, first.daemonID, "kept across restarts of the daemon")
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        // The first daemon's running attempt (recorded in its own work dir, unknown to the second) and an orphan of the
        // second (started, then the daemon died before recording it).
        let firsts = try container(engine, name: "podium-own-a-\(tag)", labels: ["podium.node": "local", "podium.daemon": first.daemonID])
        let orphan = try container(engine, name: "podium-own-b-\(tag)", labels: ["podium.node": "local", "podium.daemon": second.daemonID])
        defer { try? engine.remove(firsts); try? engine.remove(orphan) }
        second.removeOrphans(engine: engine)
        XCTAssertEqual(try engine.inspect(firsts).running, true, "the other daemon's container runs on untouched")
        XCTAssertThrowsError(try engine.inspect(orphan), "the second daemon's own orphan is removed")
    }
}
