import XCTest
import PodiumCore
import PodiumStore
@testable import PodiumCoordinator
import PodiumSystem

/// The coordinator's disk fills up (state and artifacts on a small tmpfs): the sweep stops with a clear error, the
/// database stays sound, nothing is lost on the node; with space again the same sweep resumes and completes, every
/// run once.
final class DiskFullTests: XCTestCase {
    func testCoordinatorDiskFullStopsCleanlyAndResumes() throws {
        let dir = makeTempDir("diskfull")
        let state = dir + "/state"
        try mountSmallTmpfs(at: state, size: "6m")
        defer {
            _ = ChildProcess.capture([workerBinary, "stop", "--work-dir", dir + "/work"])
            _ = ChildProcess.capture(["umount", "-l", state])
            try? FileManager.default.removeItem(atPath: dir)
        }
        try #"{"nodes": [{"name": "n", "transport": "local", "runtime": "process", "cpus": 2, "memory": "4g", "work_dir": "\#(dir)/work"}]}"#
            .write(toFile: dir + "/inventory.json", atomically: true, encoding: .utf8)
        // Each run leaves 4 MB of code: two of them do not fit in the coordinator's 6 MB.
        let agent = #"head -c 4000000 /dev/urandom > "$CODE_DIR/model.bin"; cp "$DATA_DIR/sample_submission.csv" "$SUBMISSION_DIR/submission.csv""#
        try """
        {"sweep": "full", "agent": {"name": "big", "image": "none", "command": ["/bin/sh", "-c", \(String(reflecting: agent))]},
         "competitions": ["wine-cultivar"], "attempts": 2, "budgets": ["60s"],
         "hardware": [{"name": "cpu", "cpus": 1, "memory": "1g"}], "inventory": "inventory.json",
         "mlebench_dir": "\(repoRoot)/benchmark/mini", "data_dir": "\(repoRoot)/benchmark/mini-data", "state": "state/state.sqlite"}
        """.write(toFile: dir + "/sweep.json", atomically: true, encoding: .utf8)
        func run() throws -> SweepRunner.Outcome {
            try makeRunner(dir + "/sweep.json").0.run()
        }
        XCTAssertThrowsError(try run(), "a full disk stops the sweep") { error in
            XCTAssertTrue("\(error)".lowercased().contains("space") || "\(error)".contains("full"), "the error says why: \(error)")
        }
        let store = try StateStore(path: state + "/state.sqlite")
        XCTAssertEqual(try store.integrityCheck(), "ok", "no corruption after ENOSPC")
        XCTAssertFalse(try store.runs(sweep: "full").allSatisfy { $0.state == .completed }, "the full disk really interrupted the sweep")

        // Space again: the same sweep resumes and finishes, every run completed once, artifacts verified.
        XCTAssertEqual(ChildProcess.capture(["mount", "-o", "remount,size=64m", state])?.code, 0)
        let outcome = try run()
        XCTAssertEqual(outcome.counts[.completed], 2, "\(outcome.counts)")
        for r in try store.runs(sweep: "full") {
            XCTAssertEqual(try store.attempts(runID: r.id).filter { $0.outcome == .completed }.count, 1)
            let model = try XCTUnwrap(try store.artifacts(runID: r.id, epoch: r.epoch).first { $0.name == "code/model.bin" })
            XCTAssertEqual(model.bytes, 4_000_000)
            XCTAssertEqual(SHA256.hex(fileAt: model.path), model.sha256)
        }
        XCTAssertEqual(try store.integrityCheck(), "ok")
    }
}

final class NodeDiskFullTests: XCTestCase {
    /// A node's work directory fills up under an agent: the attempt is an infra failure (not the agent's), retried on
    /// another node, and the full node is drained — no more work goes there.
    func testNodeDiskFullIsInfraAndDrainsTheNode() throws {
        let dir = makeTempDir("nodefull")
        let small = dir + "/small-work"
        try mountSmallTmpfs(at: small, size: "8m")
        defer {
            _ = ChildProcess.capture([workerBinary, "stop", "--work-dir", small])
            _ = ChildProcess.capture([workerBinary, "stop", "--work-dir", dir + "/big-work"])
            _ = ChildProcess.capture(["umount", "-l", small])
            try? FileManager.default.removeItem(atPath: dir)
        }
        try """
        {"nodes": [{"name": "full", "transport": "local", "runtime": "process", "cpus": 1, "memory": "4g", "work_dir": "\(small)"},
                   {"name": "roomy", "transport": "local", "runtime": "process", "cpus": 1, "memory": "4g", "work_dir": "\(dir)/big-work"}]}
        """.write(toFile: dir + "/inventory.json", atomically: true, encoding: .utf8)
        let agent = #"head -c 10000000 /dev/urandom > "$CODE_DIR/weights.bin" && cp "$DATA_DIR/sample_submission.csv" "$SUBMISSION_DIR/submission.csv""#
        try """
        {"sweep": "nodefull", "agent": {"name": "hungry", "image": "none", "command": ["/bin/sh", "-c", \(String(reflecting: agent))]},
         "competitions": ["wine-cultivar"], "attempts": 3, "budgets": ["60s"],
         "hardware": [{"name": "cpu", "cpus": 1, "memory": "1g"}], "inventory": "inventory.json",
         "mlebench_dir": "\(repoRoot)/benchmark/mini", "data_dir": "\(repoRoot)/benchmark/mini-data", "state": "state.sqlite"}
        """.write(toFile: dir + "/sweep.json", atomically: true, encoding: .utf8)
        let (runner, store) = try makeRunner(dir + "/sweep.json", retryBackoff: 0.5)
        let outcome = try runner.run()
        XCTAssertEqual(outcome.counts[.completed], 3, "\(outcome.counts)")
        let attempts = try store.attempts(sweep: "nodefull")
        let onFull = attempts.filter { $0.node == "full" }
        XCTAssertEqual(onFull.count, 1, "after the first disk-full attempt, nothing more went to the full node: \(attempts)")
        XCTAssertEqual(onFull.first?.outcome, .infraError)
        XCTAssertTrue(onFull.first?.message?.contains("disk is full") == true, onFull.first?.message ?? "")
        XCTAssertEqual(attempts.filter { $0.outcome == .completed }.map(\.node), ["roomy", "roomy", "roomy"])
        XCTAssertEqual(try store.events(kind: "node_drained").count, 1)
        XCTAssertEqual(try store.integrityCheck(), "ok")
    }
}

/// A small tmpfs at `path` (created), to fill up on purpose; skips the test where that cannot be done.
func mountSmallTmpfs(at path: String, size: String) throws {
    guard getuid() == 0 else { throw XCTSkip("needs root to mount a small tmpfs") }
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    guard ChildProcess.capture(["mount", "-t", "tmpfs", "-o", "size=\(size)", "tmpfs", path])?.code == 0 else {
        throw XCTSkip("cannot mount a tmpfs here")
    }
}
