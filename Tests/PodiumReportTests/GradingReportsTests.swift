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
