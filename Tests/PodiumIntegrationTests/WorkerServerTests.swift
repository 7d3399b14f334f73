import XCTest
import PodiumCore
import PodiumProtocol
@testable import PodiumWorker
@testable import PodiumCoordinator
#if canImport(Glibc)
import Glibc
#endif
import PodiumSystem

/// The coordinator's end of a connection to a worker server over two pipes: `serve` runs on its own thread with this
/// connection as its output; `finished` turns true when it returns; `close` ends the connection from this side.
struct PipeConnection {
    let send: FrameWriter
    let replies: FrameReader
    let finished = Locked(false)
    let close: () -> Void

    init(to server: WorkerServer) {
        signal(SIGPIPE, SIG_IGN)  // as in `podium sweep`: a write to a closed pipe is an error, not the end of the process
        var toServer: [Int32] = [0, 0], fromServer: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&toServer), 0)
        XCTAssertEqual(pipe(&fromServer), 0)
        let input = FrameReader(fd: toServer[0]), output = FrameWriter(fd: fromServer[1])
        let finished = self.finished
        BlockingThread.start { server.serve(input: input, output: output); finished.withLock { $0 = true } }
        let w = toServer[1], r = fromServer[0]
        send = FrameWriter(fd: w)
        replies = FrameReader(fd: r)
        close = { Glibc.close(w); Glibc.close(r) }
    }
}

/// The worker's frame server over pipes, with real containers: handshake, start, artifacts, acknowledgement, fencing.
final class WorkerServerTests: XCTestCase {
    func testStartFetchAcknowledgeAndFencing() throws {
        let engine = try requireDocker()
        let dir = makeTempDir("srv")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/data", withIntermediateDirectories: true)
        let server = WorkerServer(node: "it-node", workDir: dir + "/work", runtime: DockerRuntime(engine: engine),
                                  version: podiumVersion, capacity: (2, 1 << 30))
        let connection = PipeConnection(to: server)
        let send = connection.send, replies = connection.replies, finished = connection.finished

        try send.send(Request.hello(protocolVersion: podiumProtocolVersion, coordinator: "test"))
        guard case .welcome(let v, _, let node, _, _, _, _) = try replies.next(Reply.self) else { return XCTFail("no welcome") }
        XCTAssertEqual(v, podiumProtocolVersion)
        XCTAssertEqual(node, "it-node")

        func start(epoch: Int) -> StartRequest {
            StartRequest(runID: "rsrv", epoch: epoch, sweep: "it", competition: "c", image: testImage,
                         command: ["/bin/sh", "-c", "echo hello; echo 'id,y' > /home/submission/submission.csv"], env: [:],
                         dataDir: dir + "/data", budgetSeconds: 20, graceSeconds: 2, snapshotIntervalSeconds: 60, cpus: 1,
                         memoryBytes: 128 << 20, shmBytes: 16 << 20, gpus: 0, network: false)
        }
        try send.send(Request.start(start(epoch: 2)))
        var result: AttemptResult?
        while result == nil {
            switch try replies.next(Reply.self) {
            case .finished(_, let e, let r): XCTAssertEqual(e, 2); result = r
            default: continue
            }
        }
        XCTAssertEqual(result?.outcome, .completed)

        // An older epoch of the same run is refused: the worker has seen epoch 2.
        try send.send(Request.start(start(epoch: 1)))
        guard case .error(let rid, let message) = try replies.next(Reply.self) else { return XCTFail("stale epoch not refused") }
        XCTAssertEqual(rid, "rsrv")
        XCTAssertTrue(message.contains("stale"), message)
        // The same start delivered twice is idempotent: the duplicate is refused, nothing runs again.
        try send.send(Request.start(start(epoch: 2)))
        guard case .error(_, let dup) = try replies.next(Reply.self) else { return XCTFail("duplicate start not refused") }
        XCTAssertTrue(dup.contains("epoch 2 was already seen"), dup)

        try send.send(Request.fetchArtifacts(runID: "rsrv", epoch: 2, logBytes: nil))
        var files = [String: Data]()
        loop: while true {
            switch try replies.next(Reply.self) {
            case .file(_, _, let name, let sha, let data):
                XCTAssertEqual(SHA256.hex(Array(data)), sha)
                files[name] = data
            case .artifactsDone(_, _, let count):
                XCTAssertEqual(count, files.count)
                break loop
            default: continue
            }
        }
        XCTAssertEqual(files["agent.log"].map { String(decoding: $0, as: UTF8.self) }, "hello\n")
        XCTAssertEqual(files["submission/submission.csv"].map { String(decoding: $0, as: UTF8.self) }, "id,y\n")
        let attemptDir = dir + "/work/it/rsrv/e2"
        XCTAssertTrue(FileManager.default.fileExists(atPath: attemptDir))
        try send.send(Request.acknowledge(runID: "rsrv", epoch: 2))
        try send.send(Request.list)
        guard case .held(let held) = try replies.next(Reply.self) else { return XCTFail("no list reply") }
        XCTAssertTrue(held.isEmpty)
        XCTAssertFalse(FileManager.default.fileExists(atPath: attemptDir), "acknowledged artifacts are removed from the node")

        connection.close()
        let until = monotonicSeconds() + 10
        while !finished.withLock({ $0 }) && monotonicSeconds() < until { sleepSeconds(0.05) }
        XCTAssertTrue(finished.withLock { $0 }, "the server ends when the connection closes")
    }

    func testVersionMismatchIsRefusedClearly() throws {
        let server = WorkerServer(node: "n", workDir: makeTempDir("ver"), runtime: DockerRuntime(), version: podiumVersion, capacity: (1, 1 << 30))
        let connection = PipeConnection(to: server)
        defer { connection.close() }
        try connection.send.send(Request.hello(protocolVersion: 999, coordinator: "future"))
        guard case .error(_, let m) = try connection.replies.next(Reply.self) else { return XCTFail("no error") }
        XCTAssertTrue(m.contains("protocol version mismatch"), m)
    }
}

/// A large log: streamed while the agent runs, hashed by its follower as it goes, and at collection only the rest is
/// read and sent — the whole-file sha256 in `fileEnd` must still be the file's, whatever the coordinator already has.
final class LogDigestTests: XCTestCase {
    func testCollectionHashesOnlyTheRestAndStaysExact() throws {
        let dir = makeTempDir("digest")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/data", withIntermediateDirectories: true)
        let server = WorkerServer(node: "digest-node", workDir: dir + "/work", runtime: ProcessRuntime(),
                                  version: podiumVersion, capacity: (2, 1 << 30))
        let connection = PipeConnection(to: server)
        defer { connection.close() }
        let send = connection.send, replies = connection.replies
        try send.send(Request.hello(protocolVersion: podiumProtocolVersion, coordinator: "test"))
        guard case .welcome = try replies.next(Reply.self) else { return XCTFail("no welcome") }

        // 20 MiB (more than one 8 MiB artifact chunk), written in two bursts.
        let script = "head -c 12582912 /dev/urandom; sleep 0.3; head -c 8388608 /dev/urandom; echo 'id,y' > \"$SUBMISSION_DIR/submission.csv\""
        try send.send(Request.start(StartRequest(
            runID: "rdig", epoch: 1, sweep: "it", competition: "c", image: "", command: ["/bin/sh", "-c", script], env: [:],
            dataDir: dir + "/data", budgetSeconds: 60, graceSeconds: 2, snapshotIntervalSeconds: 60, cpus: 1,
            memoryBytes: 1 << 30, shmBytes: 0, gpus: 0, network: false)))
        var streamed = [UInt8]()
        loop: while true {
            switch try replies.next(Reply.self) {
            case .log(_, _, let offset, let data):
                XCTAssertEqual(offset, Int64(streamed.count), "frames arrive in order, without gaps")
                streamed += data
            case .finished(_, _, let r): XCTAssertEqual(r.outcome, .completed); break loop
            default: continue
            }
        }
        let logPath = dir + "/work/it/rdig/e1/agent.log"
        let size = Int64(streamed.count)
        XCTAssertEqual(size, 20 << 20)
        XCTAssertEqual(SHA256.hex(streamed), SHA256.hex(fileAt: logPath))
        XCTAssertEqual(server.logDigests.withLock { $0[.init(sweep: "it", key: AttemptKey("rdig", 1))]?.bytes }, size, "the follower hashed the whole log as it sent it")

        // The coordinator has everything, part of it, or (after a damaged copy) nothing: each time the rest it gets plus
        // what it had is the file, and fileEnd's sha256 is the whole file's.
        for have in [size, size - 3_000_000, 0] {
            try send.send(Request.fetchArtifacts(runID: "rdig", epoch: 1, logBytes: have))
            var copy = Array(streamed[0..<Int(have)])
            var endSHA: String?
            collect: while true {
                switch try replies.next(Reply.self) {
                case .fileChunk(_, _, let name, let offset, let data) where name == "agent.log":
                    XCTAssertEqual(offset, Int64(copy.count))
                    copy += data
                case .file(_, _, let name, let sha, let data) where name == "agent.log":
                    copy = Array(data); endSHA = sha
                case .fileEnd(_, _, let name, let sha, let bytes) where name == "agent.log":
                    XCTAssertEqual(bytes, size); endSHA = sha
                case .artifactsDone: break collect
                default: continue
                }
            }
            XCTAssertEqual(copy, streamed, "having \(have) bytes")
            XCTAssertEqual(endSHA, SHA256.hex(streamed), "having \(have) bytes")
        }
    }
}

/// A coordinator that reconnects to a daemon whose attempt keeps logging must get `welcome` first: the attempt's log
/// follower may only use the new connection once the handshake is answered (it used to be able to slip a log frame in
/// before, and the coordinator refused the connection as "unexpected first frame").
final class ReconnectHandshakeTests: XCTestCase {
    func testLiveLogNeverPrecedesWelcome() throws {
        let dir = makeTempDir("rehello")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/data", withIntermediateDirectories: true)
        let server = WorkerServer(node: "re-node", workDir: dir + "/work", runtime: ProcessRuntime(), version: podiumVersion,
                                  capacity: (2, 1 << 30), stopOnDisconnect: false)
        let first = PipeConnection(to: server)
        try first.send.send(Request.hello(protocolVersion: podiumProtocolVersion, coordinator: "test 1"))
        guard case .welcome = try first.replies.next(Reply.self) else { return XCTFail("no welcome") }
        try first.send.send(Request.start(StartRequest(
            runID: "rre", epoch: 1, sweep: "it", competition: "c", image: "",
            command: ["/bin/sh", "-c", "i=0; while [ $i -lt 3000 ]; do echo line $i; i=$((i+1)); sleep 0.002; done"], env: [:],
            dataDir: dir + "/data", budgetSeconds: 60, graceSeconds: 2, snapshotIntervalSeconds: 60, cpus: 1,
            memoryBytes: 1 << 30, shmBytes: 0, gpus: 0, network: false)))
        var sawLog = false
        while !sawLog { if case .log = try first.replies.next(Reply.self) { sawLog = true } }
        first.close()
        defer { server.stopAll() }

        // The second coordinator connects and waits before saying hello: the agent keeps printing meanwhile.
        let second = PipeConnection(to: server)
        defer { second.close() }
        sleepSeconds(0.8)
        try second.send.send(Request.hello(protocolVersion: podiumProtocolVersion, coordinator: "test 2"))
        let reply = try second.replies.next(Reply.self)
        guard case .welcome = reply else { return XCTFail("first frame after reconnecting was \(reply), not welcome") }
        // And the live log does reach the new connection afterwards.
        var logAfter = false
        for _ in 0..<200 { if case .log = try second.replies.next(Reply.self) { logAfter = true; break } }
        XCTAssertTrue(logAfter)
    }
}

/// Placement by GPU model trusts what nvidia-smi says on the node: the worker reports its GPUs' model in `welcome`,
/// and the coordinator places by it (warning when the inventory disagrees).
final class GPUModelReportTests: XCTestCase {
    func welcomeModel(_ gpus: [GPUDevice]) throws -> String? {
        let server = WorkerServer(node: "g", workDir: makeTempDir("gpu-model"), runtime: ProcessRuntime(),
                                  version: podiumVersion, capacity: (2, 1 << 30), gpus: gpus)
        let connection = PipeConnection(to: server)
        defer { connection.close() }
        try connection.send.send(Request.hello(protocolVersion: podiumProtocolVersion, coordinator: "test"))
        guard case .welcome(_, _, _, let count, _, _, let model) = try connection.replies.next(Reply.self) else {
            XCTFail("no welcome"); return nil
        }
        XCTAssertEqual(count, gpus.count)
        return model
    }

    func testWelcomeCarriesTheModelAndTheCoordinatorPlacesByIt() throws {
        func gpu(_ i: Int, _ name: String, standIn: Bool = false) -> GPUDevice {
            GPUDevice(index: i, uuid: "GPU-\(i)", name: name, memoryMiB: 81559, standIn: standIn)
        }
        XCTAssertEqual(try welcomeModel([gpu(0, "NVIDIA H100 80GB HBM3"), gpu(1, "NVIDIA H100 80GB HBM3")]), "NVIDIA H100 80GB HBM3")
        XCTAssertNil(try welcomeModel([gpu(0, "NVIDIA H100 80GB HBM3"), gpu(1, "NVIDIA A100-SXM4-80GB")]), "a mix has no one model")
        XCTAssertNil(try welcomeModel([gpu(0, "stand-in", standIn: true)]), "stand-in slots are no model")
        XCTAssertNil(try welcomeModel([]))

        // The coordinator's choice: the node's word over the inventory's, agreeing when the inventory names a part of it.
        XCTAssertEqual(effectiveGPUModel(declared: "H100", reported: "NVIDIA H100 80GB HBM3").0, "NVIDIA H100 80GB HBM3")
        XCTAssertNil(effectiveGPUModel(declared: "h100", reported: "NVIDIA H100 80GB HBM3").1)
        let (model, warning) = effectiveGPUModel(declared: "A100", reported: "NVIDIA H100 80GB HBM3")
        XCTAssertEqual(model, "NVIDIA H100 80GB HBM3")
        XCTAssertTrue(warning?.contains("fix the inventory") == true, warning ?? "no warning")
        XCTAssertEqual(effectiveGPUModel(declared: "A100", reported: nil).0, "A100", "no report (no nvidia-smi): the inventory's word")
    }
}
