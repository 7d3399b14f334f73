import XCTest
@testable import PodiumCore

let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
let sharedMLEBench = repoRoot + "/../shared/mle-bench"

final class RegistryAndGridTests: XCTestCase {
    func sharedRegistry() throws -> CompetitionRegistry {
        guard FileManager.default.fileExists(atPath: sharedMLEBench) else { throw XCTSkip("../shared/mle-bench not present") }
        return try CompetitionRegistry.load(mlebenchDir: sharedMLEBench)
    }

    func testSplitsMatchMLEBench() throws {
        let reg = try sharedRegistry()
        XCTAssertEqual(try reg.ids(inSplit: "low", source: "t").count, 22)
        XCTAssertEqual(try reg.ids(inSplit: "medium", source: "t").count, 38)
        XCTAssertEqual(try reg.ids(inSplit: "high", source: "t").count, 15)
        XCTAssertEqual(try reg.ids(inSplit: "split75", source: "t").count, 75)
        let lite = try reg.resolve(.split("low"), source: "t")
        XCTAssertTrue(lite.allSatisfy { $0.split == "low" })
        XCTAssertEqual(reg.competitions["aerial-cactus-identification"]?.graderName, "auc-roc")
        XCTAssertNotNil(reg.competitions["aerial-cactus-identification"]?.leaderboardPath)
    }

    func testUnknownIdSuggestsNearest() throws {
        let reg = try sharedRegistry()
        XCTAssertThrowsError(try reg.resolve(.ids(["aerial-cactus-identifcation"]), source: "--competitions")) { e in
            let c = e as? ConfigError
            XCTAssertEqual(c?.path, "--competitions")
            XCTAssertTrue(c?.fix?.contains("aerial-cactus-identification") ?? false, "\(String(describing: c))")
        }
        XCTAssertThrowsError(try reg.ids(inSplit: "lowest", source: "--split"))
        XCTAssertEqual(try reg.ids(inSplit: "lite", source: "--split").count, 22, "MLE-bench calls low Lite")
    }

    func testBundledMiniBenchmarkLoads() throws {
        let reg = try CompetitionRegistry.load(mlebenchDir: repoRoot + "/benchmark/mini")
        let mini = try reg.resolve(.split("mini"), source: "t")
        XCTAssertEqual(mini.count, 4)
        XCTAssertTrue(mini.allSatisfy { $0.graderEngine == "podium-generic" && $0.leaderboardPath != nil })
        XCTAssertEqual(Set(mini.compactMap(\.graderName)), ["auc-roc", "accuracy", "multi-class-log-loss", "rmse"])
    }

    func testMissingDirectoryIsAConfigError() {
        XCTAssertThrowsError(try CompetitionRegistry.load(mlebenchDir: "/nonexistent")) { e in
            XCTAssertTrue(e is ConfigError)
        }
    }

    func testGridIsDeterministicWithStableIds() {
        let budgets = [BudgetDuration(seconds: 86_400), BudgetDuration(seconds: 360_000)]
        let a = expandGrid(sweep: "s", agent: "ag", competitions: ["c1", "c2", "c3"], budgets: budgets, profiles: ["p"], attempts: 8)
        let b = expandGrid(sweep: "s", agent: "ag", competitions: ["c1", "c2", "c3"], budgets: budgets, profiles: ["p"], attempts: 8)
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.count, 48)
        XCTAssertEqual(Set(a.map(\.id)).count, 48, "ids are unique")
        // Attempt-major order: every competition's first attempt comes first.
        XCTAssertTrue(a.prefix(6).allSatisfy { $0.attempt == 1 })
        // An id depends on the cell only, not on the rest of the grid.
        let single = RunSpec(sweep: "s", agent: "ag", competition: "c2", budget: budgets[1], profile: "p", attempt: 5)
        XCTAssertTrue(a.contains(single))
        XCTAssertNotEqual(single.id, RunSpec(sweep: "s2", agent: "ag", competition: "c2", budget: budgets[1], profile: "p", attempt: 5).id)
    }

    func testAbsolutePath() {
        XCTAssertEqual(absolutePath("/a/./b/../c"), "/a/c")
        XCTAssertTrue(absolutePath("x").hasSuffix("/x"))
    }
}
