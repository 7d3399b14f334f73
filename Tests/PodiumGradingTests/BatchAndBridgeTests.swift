import XCTest
@testable import PodiumGrading
import PodiumCore

/// Aggregate grading reports, non-finite scores, hostile inputs and the official-grader bridge.
final class BatchAndBridgeTests: XCTestCase {
    func tempDir() throws -> String {
        let d = NSTemporaryDirectory() + "podium-grading-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: d) }
        return d
    }

    func report(_ id: String, score: Double?, valid: Bool, gold: Bool = false, median: Bool = false) -> CompetitionReport {
        CompetitionReport(competitionID: id, score: score, goldThreshold: 1, silverThreshold: 0.9, bronzeThreshold: 0.8, medianThreshold: 0.5,
                          anyMedal: gold, goldMedal: gold, silverMedal: false, bronzeMedal: false, aboveMedian: median,
                          submissionExists: score != nil || valid, validSubmission: valid, isLowerBetter: false,
                          createdAt: "2025-05-07T14:59:41.765720", submissionPath: "s.csv", engine: "native:x", error: nil)
    }

    func testGradingReportAggregatesLikeMLEBench() throws {
        let g = GradingReport(reports: [report("a", score: 1, valid: true, gold: true, median: true), report("b", score: nil, valid: false),
                                        report("c", score: 0.6, valid: true, median: true)])
        XCTAssertEqual([g.totalRuns, g.totalRunsWithSubmissions, g.totalValidSubmissions, g.totalMedals, g.totalGoldMedals, g.totalAboveMedian],
                       [3, 2, 2, 1, 1, 2])
        // The official report in ../shared decodes with the same type, and its totals agree with its reports.
        let dir = shared + "/mlebench-meta/grading_reports"
        guard let files = try? FileManager.default.contentsOfDirectory(atPath: dir) else { throw XCTSkip("shared grading reports not present") }
        for f in files where f.hasSuffix("grading_report.json") {
            let official = try ReportJSON.decode(GradingReport.self, from: try Data(contentsOf: URL(fileURLWithPath: dir + "/" + f)))
            XCTAssertEqual(GradingReport(reports: official.competitionReports), official, f)
        }
        XCTAssertTrue(GradingReport.fileName(at: Date(timeIntervalSince1970: 1_746_622_781)).hasPrefix("2025-05-07T12-59-41-GMT_"))
    }

    func testNonFiniteScoresRoundTrip() throws {
        let reports = [report("nan", score: .nan, valid: true), report("neg", score: -.infinity, valid: true)]
        let data = try ReportJSON.encoder().encode(GradingReport(reports: reports))
        XCTAssertNoThrow(try JSONSerialization.jsonObject(with: data), "podium's report JSON stays strict JSON")
        let back = try ReportJSON.decode(GradingReport.self, from: data)
        XCTAssertTrue(back.competitionReports[0].score!.isNaN)
        XCTAssertEqual(back.competitionReports[1].score, -.infinity)
        // Python's json module writes bare tokens; those read too (a quoted "NaN" inside a string stays text).
        let python = #"{"competition_id": "x", "score": -Infinity, "gold_threshold": NaN, "silver_threshold": null, "bronze_threshold": null, "median_threshold": Infinity, "any_medal": false, "gold_medal": false, "silver_medal": false, "bronze_medal": false, "above_median": false, "submission_exists": true, "valid_submission": true, "is_lower_better": true, "created_at": "t", "submission_path": "NaN Infinity.csv"}"#
        let r = try ReportJSON.decode(CompetitionReport.self, from: Data(python.utf8))
        XCTAssertEqual(r.score, -.infinity)
        XCTAssertTrue(r.goldThreshold!.isNaN)
        XCTAssertEqual(r.medianThreshold, .infinity)
        XCTAssertEqual(r.submissionPath, "NaN Infinity.csv")
    }

    /// Hostile submissions get a verdict with a reason, never a crash; a 10 GB file is refused without being read.
    func testHostileSubmissionsGetVerdicts() throws {
        let dir = try tempDir()
        let reg = try CompetitionRegistry.load(mlebenchDir: repoRoot + "/benchmark/mini")
        let comp = reg.competitions["breast-cancer-diagnosis"]!
        let answers = repoRoot + "/benchmark/mini-data/breast-cancer-diagnosis/prepared/private/test.csv"
        let table = try CSVTable.read(path: answers)
        let ids = table.rows.map { $0[0] }, h = "id," + table.header[1]
        func write(_ name: String, _ text: String) -> String {
            let p = dir + "/" + name
            FileManager.default.createFile(atPath: p, contents: Data(text.utf8))
            return p
        }
        let body = ids.map { "\($0),0.5" }.joined(separator: "\n")
        let cases: [(String, String, String)] = [
            ("empty.csv", "", "empty"),
            ("binary.csv", h + "\n1,\u{0}\u{1}", "NUL"),
            ("wrong-column.csv", "id,prediction\n" + body, table.header[1]),
            ("duplicate-id.csv", h + "\n" + body + "\n\(ids[0]),0.1", "more than once"),
            ("missing-id.csv", h + "\n" + ids.dropFirst().map { "\($0),0.5" }.joined(separator: "\n"), "missing"),
            ("nan.csv", h + "\n" + ids.enumerated().map { "\($1),\($0 == 3 ? "NaN" : "0.5")" }.joined(separator: "\n"), "NaN"),
            ("inf.csv", h + "\n" + ids.enumerated().map { "\($1),\($0 == 3 ? "inf" : "0.5")" }.joined(separator: "\n"), "finite"),
            ("text.csv", h + "\n" + ids.enumerated().map { "\($1),\($0 == 3 ? "high" : "0.5")" }.joined(separator: "\n"), "number"),
            ("unclosed.csv", h + "\n\"\(ids[0]),0.5", "quoted"),
            ("ragged.csv", h + "\n\(ids[0]),0.5,extra", "fields"),
        ]
        for (name, text, reason) in cases {
            let r = GradingService(bridge: nil).grade(competition: comp, submissionPath: write(name, text), answersPath: answers)
            XCTAssertFalse(r.validSubmission, name)
            XCTAssertNil(r.score, name)
            XCTAssertTrue(r.error?.contains(reason) == true, "\(name): \(r.error ?? "no error")")
        }
        // BOM, CRLF and quoted ids are read as the same submission.
        let quoted = "\u{FEFF}" + h + "\r\n" + ids.map { "\"\($0)\",0.5" }.joined(separator: "\r\n") + "\r\n"
        XCTAssertEqual(GradingService(bridge: nil).grade(competition: comp, submissionPath: write("bom.csv", quoted), answersPath: answers).score, 0.5)
        // 10 GB (sparse): refused from its size, so memory stays bounded.
        let huge = dir + "/huge.csv"
        FileManager.default.createFile(atPath: huge, contents: Data((h + "\n").utf8))
        XCTAssertEqual(truncate(huge, 10 << 30), 0)
        let r = GradingService(bridge: nil).grade(competition: comp, submissionPath: huge, answersPath: answers)
        XCTAssertFalse(r.validSubmission)
        XCTAssertTrue(r.error?.contains("refused unread") == true, r.error ?? "")
    }

    /// The bridge runs the official CLI's contract: `mlebench grade --submission JSONL --output-dir D --data-dir R`,
    /// then reads D/*grading_report.json. `mlebench` cannot be installed on this machine (no network), so this test
    /// drives the bridge with a STAND-IN executable that honours that contract and records its arguments; a machine
    /// with mlebench installed runs the same path with the real one (PODIUM_MLEBENCH=/path/to/mlebench).
    func testBridgeSpeaksTheMLEBenchGradeContract() throws {
        let dir = try tempDir()
        let standIn = dir + "/mlebench-stand-in"
        try """
        #!/bin/sh
        # STAND-IN for the mlebench CLI (see the test's comment).
        set -e
        [ "$1" = grade ] || exit 64
        shift
        while [ $# -gt 0 ]; do case "$1" in --submission) jsonl=$2;; --output-dir) out=$2;; --data-dir) data=$2;; esac; shift 2; done
        cp "$jsonl" \(dir)/seen.jsonl
        echo "$data" > \(dir)/seen-data-dir
        cat > "$out/2025-01-01T00-00-00-GMT_grading_report.json" <<JSON
        {"total_runs": 1, "total_runs_with_submissions": 1, "total_valid_submissions": 1, "total_medals": 1, "total_gold_medals": 0, "total_silver_medals": 1, "total_bronze_medals": 0, "total_above_median": 1, "competition_reports": [{"competition_id": "custom-comp", "score": NaN, "gold_threshold": 0.9, "silver_threshold": 0.8, "bronze_threshold": 0.7, "median_threshold": 0.5, "any_medal": true, "gold_medal": false, "silver_medal": true, "bronze_medal": false, "above_median": true, "submission_exists": true, "valid_submission": true, "is_lower_better": false, "created_at": "2025-01-01T00:00:00.000000", "submission_path": "x"}]}
        JSON
        """.write(toFile: standIn, atomically: true, encoding: .utf8)
        chmod(standIn, 0o755)
        let sub = dir + "/submission.csv"
        FileManager.default.createFile(atPath: sub, contents: Data("id,y\n1,2\n".utf8))
        let comp = Competition(id: "custom-comp", name: "Custom", split: nil, splits: [], graderName: "custom-metric", graderEngine: "mlebench",
                               answersFile: nil, directory: dir, leaderboardPath: nil, descriptionPath: nil)
        let bridge = MLEBenchBridge.locate(environment: ["PODIUM_MLEBENCH": standIn])
        XCTAssertNotNil(bridge)
        XCTAssertNil(GraderRegistry.grader(for: comp), "engine: mlebench bypasses native graders")
        let r = GradingService(bridge: bridge).grade(competition: comp, submissionPath: sub, answersPath: dir + "/data/custom-comp/prepared/private/test.csv")
        XCTAssertEqual(r.engine, "mlebench-bridge:" + standIn)
        XCTAssertTrue(r.silverMedal && r.validSubmission && r.score!.isNaN, "\(r)")
        XCTAssertEqual(r.submissionPath, sub)
        XCTAssertEqual(try String(contentsOfFile: dir + "/seen-data-dir", encoding: .utf8), dir + "/data\n")
        let line = try JSONSerialization.jsonObject(with: try Data(contentsOf: URL(fileURLWithPath: dir + "/seen.jsonl"))) as! [String: String]
        XCTAssertEqual(line, ["competition_id": "custom-comp", "submission_path": sub])
        // Without the CLI the report says what to install.
        let none = GradingService(bridge: nil).grade(competition: comp, submissionPath: sub, answersPath: dir + "/x.csv")
        XCTAssertNil(none.engine)
        XCTAssertTrue(none.error?.contains("PODIUM_MLEBENCH") == true, none.error ?? "")
        // A failing CLI is an error with its output, never a crash.
        XCTAssertNotNil(MLEBenchBridge.locate(environment: ["PODIUM_MLEBENCH": "/bin/false"]))
        let failed = GradingService(bridge: MLEBenchBridge(executable: "/bin/false")).grade(
            competition: comp, submissionPath: sub, answersPath: dir + "/data/custom-comp/prepared/private/test.csv")
        XCTAssertFalse(failed.validSubmission)
        XCTAssertTrue(failed.error?.contains("exited 1") == true, failed.error ?? "")
    }
}
