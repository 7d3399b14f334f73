import XCTest
import PodiumCore
import PodiumProtocol
@testable import PodiumWorker
#if canImport(Glibc)
import Glibc
#endif
import PodiumSystem

/// The /health and /validate server an MLE-bench agent talks to, over real sockets: opened through setns (into this
/// process's own network namespace here; a container's in the sweep test), answering well-formed and hostile requests.
final class ValidationServerTests: XCTestCase {
    /// One raw HTTP exchange with 127.0.0.1:port: (status, JSON body).
    func exchange(_ port: UInt16, _ request: [UInt8]) throws -> (Int, [String: String]) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        a.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let ok = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        XCTAssertEqual(ok, 0)
        _ = request.withUnsafeBytes { writeAll(fd, $0) }
        var out = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out += buf[0..<n]
        }
        let text = String(decoding: out, as: UTF8.self)
        let status = Int(text.split(separator: " ").dropFirst().first ?? "") ?? -1
        let body = text.components(separatedBy: "\r\n\r\n").dropFirst().joined()
        let json = (try? JSONDecoder().decode([String: String].self, from: Data(body.utf8))) ?? [:]
        return (status, json)
    }

    func multipart(_ field: String, _ content: [UInt8], boundary: String = "b0undary") -> [UInt8] {
        var body = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(field)\"; filename=\"s.csv\"\r\nContent-Type: text/csv\r\n\r\n".utf8)
        body += content
        body += Array("\r\n--\(boundary)--\r\n".utf8)
        return Array("POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=\(boundary)\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body
    }

    func openServer(relay: (@Sendable (Data) -> ValidationAnswer)?) throws -> (ValidationServer, UInt16) {
        guard geteuid() == 0 else { throw XCTSkip("setns needs root (CAP_SYS_ADMIN), as the worker daemon runs") }
        for _ in 0..<20 {
            let port = UInt16.random(in: 20000...60000)
            if let s = try? ValidationServer.open(networkNamespaceOf: getpid(), port: port, relay: relay) { return (s, port) }
        }
        throw XCTSkip("no free port")
    }

    func testHealthValidateAndHostileRequests() throws {
        let seen = Locked<[Data]>([])
        let (server, port) = try openServer(relay: { data in
            seen.withLock { $0.append(data) }
            return data.starts(with: Array("id,".utf8)) ? .result("Submission is valid.") : .result("Submission invalid! …")
        })
        defer { server.stop() }

        var (status, body) = try exchange(port, Array("GET /health HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        XCTAssertEqual(status, 200)
        XCTAssertEqual(body, ["status": "running"])

        (status, body) = try exchange(port, multipart("file", Array("id,y\n1,0\n".utf8)))
        XCTAssertEqual(status, 200)
        XCTAssertEqual(body, ["result": "Submission is valid."])
        XCTAssertEqual(seen.withLock { $0.last }, Data("id,y\n1,0\n".utf8), "the file's bytes exactly, multipart framing removed")

        // Binary content is relayed as it is (the grader decides).
        let binary = (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        (status, body) = try exchange(port, multipart("file", binary))
        XCTAssertEqual(status, 200)
        XCTAssertEqual(seen.withLock { $0.last }, Data(binary))

        // Wrong field, not multipart, wrong method, unknown path, chunked, huge, garbage: clear JSON errors.
        (status, body) = try exchange(port, multipart("submission", Array("id,y\n".utf8)))
        XCTAssertEqual(status, 400)
        XCTAssertTrue(body["details"]?.contains("field named 'file'") == true, "\(body)")
        (status, body) = try exchange(port, Array("POST /validate HTTP/1.1\r\nContent-Type: text/csv\r\nContent-Length: 4\r\n\r\nid,y".utf8))
        XCTAssertEqual(status, 400)
        XCTAssertTrue(body["details"]?.contains("multipart/form-data") == true, "\(body)")
        (status, _) = try exchange(port, Array("GET /validate HTTP/1.1\r\n\r\n".utf8))
        XCTAssertEqual(status, 405)
        (status, _) = try exchange(port, Array("GET /../../etc/passwd HTTP/1.1\r\n\r\n".utf8))
        XCTAssertEqual(status, 404)
        (status, _) = try exchange(port, Array("POST /validate HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".utf8))
        XCTAssertEqual(status, 411)
        (status, body) = try exchange(port, Array("POST /validate HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: 9000000000\r\n\r\n".utf8))
        XCTAssertEqual(status, 413)
        XCTAssertTrue(body["details"]?.contains("\(ValidationServer.maxSubmissionBytes)") == true, "\(body)")
        (status, _) = try exchange(port, (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 7919) } + Array("\r\n\r\n".utf8))
        XCTAssertEqual(status, 400)
        (status, _) = try exchange(port, Array(repeating: UInt8(ascii: "A"), count: 70_000))
        XCTAssertEqual(status, 431)

        // After all that the server still answers.
        (status, body) = try exchange(port, Array("GET /health HTTP/1.1\r\n\r\n".utf8))
        XCTAssertEqual(status, 200)
        XCTAssertEqual(seen.withLock { $0.count }, 2, "only the two well-formed validations reached the relay")
        XCTAssertEqual(server.served.withLock { $0["/validate"] }, 7)
    }

    func testWithoutACoordinatorTheAgentGets503AndGoesOn() throws {
        // An ad-hoc run has no relay at all.
        let (adhoc, port) = try openServer(relay: nil)
        defer { adhoc.stop() }
        let (status, body) = try exchange(port, multipart("file", Array("id,y\n".utf8)))
        XCTAssertEqual(status, 503)
        XCTAssertNotNil(body["error"])
        XCTAssertNotNil(body["details"])

        // A daemon whose coordinator is not connected answers 503 at once, with MLE-bench's error shape.
        let server = WorkerServer(node: "n", workDir: makeTempDir("val"), runtime: ProcessRuntime(), version: "t", capacity: (1, 1 << 30))
        let began = monotonicSeconds()
        let answer = server.relayValidation(sweep: "it", runID: "r", epoch: 1, data: Data("id,y\n".utf8))
        XCTAssertEqual(answer.status, 503)
        XCTAssertTrue(answer.body["error"]?.contains("Coordinator unreachable") == true, "\(answer)")
        XCTAssertLessThan(monotonicSeconds() - began, 5, "no wait for a coordinator that is not there")
    }
}

/// The coordinator goes away while an agent's validation waits for it: the agent gets 503 at once and the run goes on.
final class ValidationRelayTests: XCTestCase {
    func testCoordinatorGoneDuringAValidationAnswers503() throws {
        let dir = makeTempDir("relay")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = WorkerServer(node: "n", workDir: dir, runtime: ProcessRuntime(), version: "t", capacity: (1, 1 << 30), stopOnDisconnect: false)
        let connection = PipeConnection(to: server)
        try connection.send.send(Request.hello(protocolVersion: podiumProtocolVersion, coordinator: "test"))
        guard case .welcome = try connection.replies.next(Reply.self) else { return XCTFail("no welcome") }
        // An agent validates; the request reaches the coordinator's end of the connection.
        let answer = Locked<ValidationAnswer?>(nil)
        BlockingThread.start { let a = server.relayValidation(sweep: "it", runID: "r", epoch: 1, data: Data("id,y\n".utf8)); answer.withLock { $0 = a } }
        guard case .validate(let runID, let epoch, let requestID, let data) = try connection.replies.next(Reply.self) else {
            return XCTFail("expected the relayed validation")
        }
        XCTAssertEqual(runID, "r"); XCTAssertEqual(epoch, 1); XCTAssertEqual(data, Data("id,y\n".utf8))
        XCTAssertNil(answer.withLock { $0 }, "the agent waits for the coordinator's verdict")
        // The coordinator answers a first one normally...
        try connection.send.send(Request.validationResult(requestID: requestID, result: "Submission is valid.", error: nil, status: 200))
        let until = monotonicSeconds() + 10
        while answer.withLock({ $0 }) == nil && monotonicSeconds() < until { sleepSeconds(0.01) }
        XCTAssertEqual(answer.withLock { $0 }, .result("Submission is valid."))
        // ...then a second validation is pending when the coordinator disconnects: 503 at once.
        let second = Locked<ValidationAnswer?>(nil)
        BlockingThread.start { let a = server.relayValidation(sweep: "it", runID: "r", epoch: 1, data: Data("id,y\n".utf8)); second.withLock { $0 = a } }
        guard case .validate = try connection.replies.next(Reply.self) else { return XCTFail("expected the second validation") }
        connection.close()
        let until2 = monotonicSeconds() + 10
        while second.withLock({ $0 }) == nil && monotonicSeconds() < until2 { sleepSeconds(0.01) }
        XCTAssertEqual(second.withLock { $0 }?.status, 503)
        XCTAssertTrue(second.withLock { $0 }?.body["details"]?.contains("run goes on") == true, "\(String(describing: second.withLock { $0 }))")
    }
}
