import XCTest
@testable import PodiumReport
import PodiumCore

final class ComparisonAndHTMLTests: XCTestCase {
    func r(_ c: String, _ attempt: Int, hours: Int, medal: Bool, graded: Bool = true, infra: Bool = false, agent: String = "a1") -> RunResult {
        RunResult(competition: c, budget: BudgetDuration(seconds: hours * 3600), profile: "gpu1", attempt: attempt, graded: graded,
                  infraFailed: infra, submissionExists: graded, validSubmission: graded, gold: medal, agent: agent)
    }

    /// Per-competition rates paired across budgets; the bootstrap interval is seeded and brackets the mean.
    func testPairedBudgetComparison() {
        var rs = [RunResult]()
        // 24 h: c1 medals 1/2, c2 0/2, c3 2/2. 100 h: c1 2/2, c2 1/2, c3 2/2 → differences +50, +50, 0 pp.
        for (c, m24, m100) in [("c1", [true, false], [true, true]), ("c2", [false, false], [true, false]), ("c3", [true, true], [true, true])] {
            for (k, m) in m24.enumerated() { rs.append(r(c, k + 1, hours: 24, medal: m)) }
            for (k, m) in m100.enumerated() { rs.append(r(c, k + 1, hours: 100, medal: m)) }
        }
        rs.append(r("c4", 1, hours: 100, medal: true))  // only in one arm: not paired
        rs.append(r("c1", 3, hours: 24, medal: true, graded: false))  // ungraded: ignored
        let all = PairedComparison.all(rs, axis: .budget, samples: 4000)
        XCTAssertEqual(all.count, 1)
        let c = all[0]
        XCTAssertEqual([c.a, c.b], ["24h", "100h"])
        XCTAssertEqual(c.numCompetitions, 3)
        XCTAssertEqual(c.meanDifference, 100.0 / 3, accuracy: 1e-9)
        XCTAssertEqual([c.bBetter, c.aBetter, c.ties], [2, 0, 1])
        XCTAssertLessThanOrEqual(c.ciLower, c.meanDifference)
        XCTAssertGreaterThanOrEqual(c.ciUpper, c.meanDifference)
        XCTAssertGreaterThanOrEqual(c.ciLower, 0, "every resampled mean of {50, 50, 0} is ≥ 0")
        XCTAssertLessThanOrEqual(c.ciUpper, 50)
        XCTAssertEqual(PairedComparison.all(rs, axis: .budget, samples: 4000), all, "seeded: the same results give the same interval")
        // Agents compared with the budget held fixed.
        let agents = [r("c1", 1, hours: 24, medal: true, agent: "x"), r("c1", 1, hours: 24, medal: false, agent: "y")]
        let byAgent = PairedComparison.all(agents, axis: .agent)
        XCTAssertEqual(byAgent.map(\.meanDifference), [-100])
        XCTAssertEqual(byAgent.first?.fixed, "budget=24h, profile=gpu1")
    }

    /// A 100 h run's curve at 24 h is what it had then; the final submission counts from when the run ended.
    func testTimeCurvesFromSnapshots() {
        let b100 = BudgetDuration(seconds: 100 * 3600), b24 = BudgetDuration(seconds: 24 * 3600)
        let g = [
            TimedGrade(runKey: "r1", competition: "c", budget: b100, profile: "p", agent: "a", elapsedHours: 10, anyMedal: false),
            TimedGrade(runKey: "r1", competition: "c", budget: b100, profile: "p", agent: "a", elapsedHours: 20, anyMedal: true),
            TimedGrade(runKey: "r1", competition: "c", budget: b100, profile: "p", agent: "a", elapsedHours: 100, anyMedal: true),
            TimedGrade(runKey: "r2", competition: "d", budget: b100, profile: "p", agent: "a", elapsedHours: 50, anyMedal: true),
            TimedGrade(runKey: "r2", competition: "d", budget: b100, profile: "p", agent: "a", elapsedHours: 90, anyMedal: false),
            TimedGrade(runKey: "r3", competition: "c", budget: b24, profile: "p", agent: "a", elapsedHours: 24, anyMedal: true),
        ]
        let curves = TimeCurve.curves(g, steps: 10)
        XCTAssertEqual(curves.map(\.budget), ["24h", "100h"])
        let long = curves[1]
        XCTAssertEqual(long.runs, 2)
        XCTAssertEqual(long.rate(at: 5), 0)
        XCTAssertEqual(long.rate(at: 24), 50, "r1 medalled at 20 h; the 24 h point is sampled")
        XCTAssertTrue(long.points.contains { $0.hours == 24 })
        XCTAssertEqual(long.rate(at: 60), 100)
        XCTAssertEqual(long.rate(at: 100), 50, "r2's last submission lost its medal")
        XCTAssertEqual(curves[0].rate(at: 24), 100)
    }

    func testHTMLIsSelfContainedAndEscaped() {
        let rs = [r("comp<&>", 1, hours: 24, medal: true), r("comp<&>", 2, hours: 24, medal: false),
                  r("b", 1, hours: 24, medal: false, infra: true), r("b", 2, hours: 24, medal: false, graded: false)]
        let groups = summarize(rs)
        let html = HTMLReport(title: "t <x>", subtitle: "s", groups: groups, results: rs,
                              comparisons: [], curves: TimeCurve.curves([
                                TimedGrade(runKey: "k", competition: "comp<&>", budget: BudgetDuration(seconds: 86_400), profile: "gpu1",
                                           agent: "a1", elapsedHours: 3, anyMedal: true)]),
                              accounting: [("GPU-hours used", "1.00")]).render()
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertFalse(html.contains("<script"), "no scripts")
        XCTAssertFalse(html.contains("http://") && !html.contains("http://www.w3.org/2000/svg"), "no external resources")
        XCTAssertFalse(html.contains("comp<&>"), "names are escaped")
        XCTAssertTrue(html.contains("comp&lt;&amp;&gt;"))
        XCTAssertTrue(html.contains("t &lt;x&gt;"))
        XCTAssertEqual(html.components(separatedBy: "<svg").count - 1, 4, "pass@k, time curve, heat map, legend")
        XCTAssertTrue(html.contains("infra failure") && html.contains("not finished") && html.contains("#d4af37"))
        XCTAssertTrue(html.contains(HTMLReport.Cell.infra.color), "the infra-failed run is drawn as such")
    }
}
