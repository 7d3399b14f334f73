import XCTest
@testable import PodiumGrading

/// Every native MLE-bench grader must reproduce every fixture made with the official graders:
/// the score to 5 decimals, and the same valid/invalid verdict.
final class ParityTests: XCTestCase {
    struct Case: Decodable {
        var score: Double?
        var invalid: String?
        var score_is_nan: Bool?
        var score_is_inf: String?
    }
    struct Expected: Decodable {
        var split: String
        var answers_file: String
        var cases: [String: Case]
    }

    func testVerifiedGradersReproduceEveryFixture() throws {
        let root = shared + "/parity"
        guard FileManager.default.fileExists(atPath: root) else { throw XCTSkip("parity fixtures not present") }
        var checked = 0
        for (id, grader) in MLEBenchGraders.verified.sorted(by: { $0.key < $1.key }) {
            let dir = ["low", "medium", "high"].map { "\(root)/\($0)/\(id)" }.first { FileManager.default.fileExists(atPath: $0) }
            let d = try XCTUnwrap(dir, "no fixtures for \(id)")
            let expected = try JSONDecoder().decode(Expected.self, from: try Data(contentsOf: URL(fileURLWithPath: d + "/expected.json")))
            let answers = try grader.loadAnswers(path: d + "/" + expected.answers_file)
            for (file, c) in expected.cases.sorted(by: { $0.key < $1.key }) {
                let result: Result<Double, GradingError>
                do { result = .success(try grader.score(submission: try CSVTable.read(path: d + "/" + file), answers: answers)) }
                catch { result = .failure(error) }
                switch (c.invalid, result) {
                case (nil, .success(let s)):
                    if c.score_is_nan == true { XCTAssertTrue(s.isNaN, "\(id)/\(file)") } else if let inf = c.score_is_inf {
                        XCTAssertTrue(s.isInfinite && (s < 0) == inf.hasPrefix("-"), "\(id)/\(file): expected \(inf), got \(s)")
                    } else {
                        XCTAssertEqual(roundScore(s), c.score, "\(id)/\(file): raw \(s)")
                    }
                case (nil, .failure(let e)):
                    XCTFail("\(id)/\(file): expected score \(String(describing: c.score)), podium says invalid: \(e)")
                case (let why?, .success(let s)):
                    XCTFail("\(id)/\(file): expected invalid (\(why)), podium scored \(s)")
                case (_?, .failure):
                    break
                }
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 600)
    }
}

final class CoverageTests: XCTestCase {
    func testEveryCompetitionOfTheThreeSplitsHasAVerifiedGrader() throws {
        var all = [String]()
        for (split, count) in [("low", 22), ("medium", 38), ("high", 15)] {
            let path = shared + "/mle-bench/experiments/splits/\(split).txt"
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw XCTSkip("shared splits not present") }
            let ids = text.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
            XCTAssertEqual(ids.count, count, split)
            all += ids
        }
        XCTAssertEqual(all.filter { MLEBenchGraders.verified[$0] == nil }, [])
        XCTAssertEqual(MLEBenchGraders.verified.count, 75)
    }
}
