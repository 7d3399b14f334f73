import XCTest
@testable import PodiumGrading
import PodiumCore

let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
let shared = repoRoot + "/../shared"

final class LeaderboardTests: XCTestCase {
    func testMedalPositionsByTeamCount() {
        XCTAssertTrue(Leaderboard.medalPositions(teams: 50) == (5, 10, 20))
        XCTAssertTrue(Leaderboard.medalPositions(teams: 5) == (1, 1, 2))
        XCTAssertTrue(Leaderboard.medalPositions(teams: 200) == (10, 40, 80))
        XCTAssertTrue(Leaderboard.medalPositions(teams: 500) == (11, 50, 100))
        XCTAssertTrue(Leaderboard.medalPositions(teams: 3000) == (16, 150, 300))
    }

    /// The thresholds in a real report written by `mlebench grade` must come out of the same leaderboards.
    func testThresholdsMatchOfficialGradingReport() throws {
        let reportPath = shared + "/mlebench-meta/grading_reports/2025-05-07T12-59-41-GMT_grading_report.json"
        guard let data = FileManager.default.contents(atPath: reportPath) else { throw XCTSkip("shared grading reports not present") }
        struct File: Decodable { var competition_reports: [CompetitionReport] }
        let reports = try JSONDecoder().decode(File.self, from: data).competition_reports
        XCTAssertFalse(reports.isEmpty)
        for r in reports {
            let board = try Leaderboard.load(path: shared + "/mle-bench/mlebench/competitions/\(r.competitionID)/leaderboard.csv")
            XCTAssertEqual(board.goldThreshold, r.goldThreshold, r.competitionID)
            XCTAssertEqual(board.silverThreshold, r.silverThreshold, r.competitionID)
            XCTAssertEqual(board.bronzeThreshold, r.bronzeThreshold, r.competitionID)
            XCTAssertEqual(board.medianThreshold, r.medianThreshold!, accuracy: 1e-12, r.competitionID)
            XCTAssertEqual(board.isLowerBetter, r.isLowerBetter, r.competitionID)
            if let score = r.score {
                let p = board.place(score)
                XCTAssertEqual(p.anyMedal, r.anyMedal, r.competitionID)
                XCTAssertEqual(p.aboveMedian, r.aboveMedian, r.competitionID)
            }
        }
    }

    func testPlacementIsExclusiveAndDirectional() {
        let higher = Leaderboard(scores: (1...20).map { 1 - Double($0) / 100 })  // 0.99 … 0.80
        XCTAssertFalse(higher.isLowerBetter)
        XCTAssertTrue(higher.place(0.99).gold)
        let silver = higher.place(higher.silverThreshold)
        XCTAssertTrue(silver.silver && !silver.gold && !silver.bronze)
        XCTAssertFalse(higher.place(higher.medianThreshold).aboveMedian, "above median is strict")
        let lower = Leaderboard(scores: (1...20).map { Double($0) })
        XCTAssertTrue(lower.isLowerBetter)
        XCTAssertTrue(lower.place(1).gold)
        XCTAssertFalse(lower.place(20).anyMedal)
    }
}
