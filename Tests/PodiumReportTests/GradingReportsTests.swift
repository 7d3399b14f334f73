import XCTest
@testable import PodiumReport
import PodiumCore
import PodiumGrading

let sharedReports = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    + "/../shared/mlebench-meta/grading_reports"

/// Aggregation of real `mlebench grade` reports (two files, three competitions each).
final class GradingReportsTests: XCTestCase {
    func load() throws -> [String: [CompetitionReport]] {
        guard FileManager.default.fileExists(atPath: sharedReports) else { throw XCTSkip("shared grading reports not present") }
        return try GradingReportsInput.load(directory: sharedReports)
    }

    func testSeedsFollowFileOrder() throws {
        let reports = try load()
        XCTAssertEqual(reports.keys.sorted(), ["aerial-cactus-identification", "denoising-dirty-documents", "leaf-classification"])
        XCTAssertTrue(reports.values.allSatisfy { $0.count == 2 }, "two files → two seeds per competition")
    }

    func testAggregateOverTheReportsCompetitions() throws {
        let reports = try load()
        let comps = reports.keys.sorted()
        let r = SplitReport(split: "all", competitions: comps, results: GradingReportsInput.results(reports, competitions: comps), padMissing: false)
        XCTAssertEqual(r.num_seeds, 2)
        XCTAssertEqual(r.num_competitions, 3)
        XCTAssertEqual(r.any_medal_percentage.mean, 0)
        XCTAssertEqual(r.above_median_percentage.mean, 100.0 / 3, accuracy: 1e-9)
        XCTAssertEqual(r.above_median_percentage.standardError, 0, accuracy: 1e-12)
        XCTAssertEqual(r.valid_submissions_percentage.mean, 200.0 / 3, accuracy: 1e-9)
        XCTAssertEqual(r.submission_exists_percentage.mean, 200.0 / 3, accuracy: 1e-9)
        XCTAssertEqual(r.pass_at_k, ["1": 0, "2": 0])
    }

    func testSplitWithMissingCompetitions() throws {
        let reports = try load()
        let lite = (1...19).map { "missing-\($0)" } + reports.keys.sorted()  // 22 competitions, 19 without reports
        let strict = SplitReport(split: "low", competitions: lite, results: GradingReportsInput.results(reports, competitions: lite), padMissing: false)
        XCTAssertEqual(strict.num_seeds, 0, "no seed is complete")
        XCTAssertEqual(strict.competitions_without_reports.count, 19)
        let padded = SplitReport(split: "low", competitions: lite, results: GradingReportsInput.results(reports, competitions: lite), padMissing: true)
        XCTAssertEqual(padded.num_seeds, 2)
        XCTAssertEqual(padded.above_median_percentage.mean, 100.0 / 22, accuracy: 1e-9)
        XCTAssertEqual(padded.valid_submissions_percentage.mean, 200.0 / 22, accuracy: 1e-9)
    }
}

final class PaddedPassAtKTests: XCTestCase {
    func testPaddingCountsMissingCompetitionsInPassAtK() {
        let b = BudgetDuration(seconds: 60)
        let rs = [RunResult(competition: "a", budget: b, profile: "p", attempt: 1, graded: true, gold: true),
                  RunResult(competition: "b", budget: b, profile: "p", attempt: 1, graded: false)]
        XCTAssertEqual(GroupSummary(budget: b, profile: "p", results: rs).passAtK["1"], 100)
        XCTAssertEqual(GroupSummary(budget: b, profile: "p", results: rs, padMissing: true).passAtK["1"], 50)
    }
}

/// Issue 21: `report --grading-reports` pooled the demo's 30 s and 2 m reports into one figure.
final class GradingReportGroupsTests: XCTestCase {
    func report(_ id: String, medal: Bool) -> CompetitionReport {
        try! ReportJSON.decode(CompetitionReport.self, from: Data("""
            {"competition_id": "\(id)", "score": 1, "gold_threshold": 1, "silver_threshold": 1, "bronze_threshold": 1, "median_threshold": 1,
             "any_medal": \(medal), "gold_medal": \(medal), "silver_medal": false, "bronze_medal": false, "above_median": \(medal),
             "submission_exists": true, "valid_submission": true, "is_lower_better": false, "created_at": "t", "submission_path": "p"}
            """.utf8))
    }

    func testGroupsByDirectoryOrProvenance() throws {
        let dir = NSTemporaryDirectory() + "podium-groups-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let enc = ReportJSON.encoder(sorted: false)
        for (folder, medal) in [("agent/30s/cpu", false), ("agent/2m/cpu", true)] {
            try FileManager.default.createDirectory(atPath: "\(dir)/\(folder)", withIntermediateDirectories: true)
            for seed in 0..<2 {
                try enc.encode(GradingReport(reports: [report("c1", medal: medal), report("c2", medal: medal)]))
                    .write(to: URL(fileURLWithPath: "\(dir)/\(folder)/seed_00\(seed)_grading_report.json"))
            }
        }
        let groups = try GradingReportsInput.loadGroups(directory: dir)
        XCTAssertEqual(groups.keys.sorted(), ["agent/2m/cpu", "agent/30s/cpu"])
        XCTAssertEqual(try GradingReportsInput.load(directory: dir, group: "agent/2m/cpu")["c1"]?.allSatisfy(\.anyMedal), true)
        XCTAssertEqual(try GradingReportsInput.load(directory: dir)["c1"]?.count, 4, "pooled on request only")
        XCTAssertThrowsError(try GradingReportsInput.load(directory: dir, group: "agent/24h/cpu")) { e in
            XCTAssertTrue("\(e)".contains("agent/2m/cpu"), "\(e)")
        }
        // Provenance in the reports wins over the folder they sit in.
        var r = report("c1", medal: true)
        r.provenance = RunProvenance(agent: "aide", agentSource: "mlebench", agentConfigSHA256: "x", image: "aide", imageDigest: nil,
                                     budget: "24h", budgetSeconds: 86400, profile: "gpu", gpus: 1, gpuModel: nil, gpuIDs: [], cpus: 4,
                                     memoryBytes: 1 << 30, node: "n", epoch: 1, podiumVersion: "t", graderEngine: nil)
        try FileManager.default.createDirectory(atPath: "\(dir)/flat", withIntermediateDirectories: true)
        try enc.encode(GradingReport(reports: [r])).write(to: URL(fileURLWithPath: "\(dir)/flat/x_grading_report.json"))
        XCTAssertNotNil(try GradingReportsInput.loadGroups(directory: dir)["aide/24h/gpu"])
    }
}
