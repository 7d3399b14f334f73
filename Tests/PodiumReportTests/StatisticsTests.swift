import XCTest
@testable import PodiumReport
import PodiumCore

final class StatisticsTests: XCTestCase {
    func testPassAtK() {
        XCTAssertEqual(passAtK(n: 8, c: 0, k: 1), 0)
        XCTAssertEqual(passAtK(n: 8, c: 8, k: 1), 1)
        XCTAssertEqual(passAtK(n: 8, c: 2, k: 1), 0.25, accuracy: 1e-12)
        // 1 − C(6,2)/C(8,2) = 1 − 15/28
        XCTAssertEqual(passAtK(n: 8, c: 2, k: 2), 13.0 / 28, accuracy: 1e-12)
        XCTAssertEqual(passAtK(n: 8, c: 2, k: 7), 1)
    }

    func testMeanSEMUsesSampleStandardDeviation() {
        let m = MeanSEM([10, 20, 30])
        XCTAssertEqual(m.mean, 20)
        XCTAssertEqual(m.standardError, 10 / 3.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(m.ciUpper - m.mean, 1.96 * m.standardError, accuracy: 1e-12)
        XCTAssertEqual(MeanSEM([5]).standardError, 0)
    }

    func result(_ c: String, _ attempt: Int, medal: Bool, graded: Bool = true, hours: Int = 24) -> RunResult {
        RunResult(competition: c, budget: BudgetDuration(seconds: hours * 3600), profile: "p", attempt: attempt, graded: graded,
                  submissionExists: graded, validSubmission: graded, bronze: medal)
    }

    func testSummaryOverCompleteSeedsAndPadding() {
        let rs = [result("a", 1, medal: true), result("b", 1, medal: false),
                  result("a", 2, medal: true), result("b", 2, medal: true),
                  result("a", 3, medal: false), result("b", 3, medal: false, graded: false)]
        let g = GroupSummary(budget: BudgetDuration(seconds: 86_400), profile: "p", results: rs)
        XCTAssertEqual(g.numSeeds, 2, "seed 3 is incomplete")
        XCTAssertEqual(g.anyMedalPercentage.mean, 75)
        XCTAssertEqual(g.passAtK["1"]!, 100 * (2.0 / 3 + 1.0 / 2) / 2, accuracy: 1e-9)
        let padded = GroupSummary(budget: BudgetDuration(seconds: 86_400), profile: "p", results: rs, padMissing: true)
        XCTAssertEqual(padded.numSeeds, 3)
        XCTAssertEqual(padded.anyMedalPercentage.mean, (50 + 100 + 0) / 3, accuracy: 1e-9)
    }

    func testGroupsByBudget() {
        let rs = [result("a", 1, medal: true, hours: 100), result("a", 1, medal: false, hours: 24)]
        let groups = summarize(rs)
        XCTAssertEqual(groups.map(\.budget), ["24h", "100h"])
        XCTAssertTrue(renderComparison(groups).contains("any medal"))
        XCTAssertTrue(renderPassAtK(groups).contains("pass@1"))
    }
}

final class MarkdownTests: XCTestCase {
    func testMarkdownTablesEscapePipes() {
        let md = TableStyle.markdown.render(header: ["a", "b"], rows: [["x|y", "1"]])
        XCTAssertEqual(md, "| a | b |\n|---|---:|\n| x\\|y | 1 |")
    }
}
