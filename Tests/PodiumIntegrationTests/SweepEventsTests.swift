import XCTest
import PodiumCore
import PodiumSystem

/// Issue 21: `podium sweep --events jsonl` prints machine-readable progress; the coordinator keeps a log file beside its
/// state; the read commands take the sweep file the same way, or --state alone.
final class SweepEventsTests: XCTestCase {
    func testEventsJSONLLogFileAndStateOnlyCommands() throws {
        let podium = directoryOf(workerBinary) + "/podium"
        guard FileManager.default.isExecutableFile(atPath: podium) else { throw XCTSkip("podium not built at \(podium)") }
        let dir = makeTempDir("events")
        defer { killDaemon(dir + "/state/worker-n"); try? FileManager.default.removeItem(atPath: dir) }
        try #"{"nodes": [{"name": "n", "transport": "local", "runtime": "process", "cpus": 2, "memory": "4g"}]}"#
            .write(toFile: dir + "/inventory.json", atomically: true, encoding: .utf8)
        let agent = #"echo "seed $AGENT_SEED"; cp "$DATA_DIR/sample_submission.csv" "$SUBMISSION_DIR/submission.csv""#
        try """
        {"sweep": "ev", "agent": {"name": "quick", "image": "none", "command": ["/bin/sh", "-c", \(String(reflecting: agent))]},
         "competitions": ["wine-cultivar", "breast-cancer-diagnosis"], "attempts": 2, "budgets": ["60s"],
         "hardware": [{"name": "cpu", "cpus": 1, "memory": "1g"}], "inventory": "inventory.json",
         "mlebench_dir": "\(repoRoot)/benchmark/mini", "data_dir": "\(repoRoot)/benchmark/mini-data", "state": "state/state.sqlite"}
        """.write(toFile: dir + "/sweep.json", atomically: true, encoding: .utf8)
        let r = try XCTUnwrap(ChildProcess.capture([podium, "sweep", dir + "/sweep.json", "--events", "jsonl"], timeout: 180))
        XCTAssertEqual(r.code, 0)
        let lines = r.output.split(separator: "\n").map(String.init)
        var types = [String: Int](), runEvents = [String: Set<String>]()
        for line in lines {
            let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON object: \(line)")
            let type = try XCTUnwrap(obj["type"] as? String)
            types[type, default: 0] += 1
            if type == "run", let id = obj["run_id"] as? String, let e = obj["event"] as? String { runEvents[id, default: []].insert(e) }
        }
        XCTAssertEqual(types["grade"].map { $0 >= 4 }, true, "\(types)")
        XCTAssertEqual(types["done"], 1)
        XCTAssertEqual(runEvents.count, 4)
        for (id, events) in runEvents {
            XCTAssertTrue(events.isSuperset(of: ["dispatch(epoch 1)", "started", "finished(completed)", "collected", "graded"]), "\(id): \(events)")
        }
        let done = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(lines.last!.utf8)) as? [String: Any])
        XCTAssertEqual(done["type"] as? String, "done")
        XCTAssertEqual((done["runs"] as? [String: Int])?["completed"], 4)

        let log = try String(contentsOfFile: dir + "/state/ev.log", encoding: .utf8)
        XCTAssertTrue(log.contains("(re)started by pid") && log.contains("sweep over: ") && log.contains("finished(completed)"), log)

        // --state alone, without the sweep file, from another directory.
        let runs = try XCTUnwrap(ChildProcess.capture([podium, "runs", "--state", dir + "/state/state.sqlite", "--format", "json"]))
        XCTAssertEqual(runs.code, 0)
        XCTAssertEqual((try JSONSerialization.jsonObject(with: Data(runs.output.utf8)) as? [Any])?.count, 4)
        // A flag the command would ignore is refused (usage error, exit 2).
        XCTAssertEqual(ChildProcess.capture([podium, "status", dir + "/sweep.json", "--attempts", "2"])?.code, 2)
        // logs: the sweep file before or after the run label.
        let a = ChildProcess.capture([podium, "logs", dir + "/sweep.json", "wine-cultivar/1m/cpu/a2"])
        let b = ChildProcess.capture([podium, "logs", "wine-cultivar/1m/cpu/a2", dir + "/sweep.json"])
        XCTAssertEqual(a?.code, 0)
        XCTAssertEqual(a?.output, b?.output)
        XCTAssertTrue(a?.output.contains("seed 2") == true, a?.output ?? "")
    }
}
