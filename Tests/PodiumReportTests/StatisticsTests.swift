import XCTest
import Foundation
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
        XCTAssertEqual(MeanSEM([5]).standardError, 0)
    }

    /// Issue 21: `81.3% ± 12.0 [57.8, 104.7]` was printed; the interval now stays in [0, 100] and says how it is made.
    func testIntervalStaysWithinZeroAndHundred() {
        for seeds in [[100, 100, 43.75], [0, 0, 12.5], [100, 50, 100, 100], [0, 0, 0, 6.25], [81.3, 100, 62.5]] {
            let m = MeanSEM(seeds)
            XCTAssertGreaterThanOrEqual(m.ciLower, 0, "\(seeds)")
            XCTAssertLessThanOrEqual(m.ciUpper, 100, "\(seeds)")
            XCTAssertLessThanOrEqual(m.ciLower, m.mean, "\(seeds)")
            XCTAssertGreaterThanOrEqual(m.ciUpper, m.mean, "\(seeds)")
            XCTAssertGreaterThan(m.ciUpper - m.ciLower, 0, "\(seeds): seeds that differ give an interval")
        }
        // Certainty is never claimed from a few seeds: 0 golds (or all) in 2 seeds of 10 competitions.
        let none = MeanSEM([0, 0], trials: [10, 10]), all = MeanSEM([100, 100], trials: [10, 10])
        XCTAssertEqual(none.ciLower, 0)
        XCTAssertEqual(none.ciUpper, 16.11, accuracy: 0.01, "Wilson's upper bound for 0 of 20")
        XCTAssertEqual(all.ciLower, 83.89, accuracy: 0.01)
        XCTAssertEqual(all.ciUpper, 100)
        // More outcomes, a narrower interval; mean ± SEM is kept beside it.
        let few = MeanSEM([40, 60], trials: [5, 5]), many = MeanSEM([40, 60], trials: [50, 50])
        XCTAssertLessThan(many.ciUpper - many.ciLower, few.ciUpper - few.ciLower)
        XCTAssertEqual(few.standardError, many.standardError)
        XCTAssertEqual(MeanSEM([10, 20, 30]).ciMethod, MeanSEM.method)
        let json = String(decoding: try! JSONEncoder().encode(MeanSEM([10, 20])), as: UTF8.self)
        XCTAssertTrue(json.contains("\"ci_method\""), json)
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
