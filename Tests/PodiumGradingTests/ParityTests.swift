import XCTest
@testable import PodiumGrading
import PodiumCore

/// Every native MLE-bench grader must reproduce every fixture made with the official graders:
/// the score to 5 decimals, and the same valid/invalid verdict.
final class ParityTests: XCTestCase {
    struct Case: Decodable {
        var score: Double?
        var invalid: String?
        var error_type: String?
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

/// `podium validate` / the agents' /validate: MLE-bench's messages and the official verdict on every fixture.
final class ValidationParityTests: XCTestCase {
    func testValidateGivesMLEBenchsVerdictAndMessageShapeOnEveryFixture() throws {
        let root = shared + "/parity"
        guard FileManager.default.fileExists(atPath: root) else { throw XCTSkip("parity fixtures not present") }
        let registry = try CompetitionRegistry.load(mlebenchDir: shared + "/mle-bench")
        let service = GradingService(bridge: nil)
        let prefix = "Submission invalid! The attempt to grade the submission has resulted in the following error message:\n"
        var checked = 0, invalid = 0, sameWords = 0, lowSame = 0, lowInvalid = 0, mediumSame = 0
        var lowDiffer = [String]()
        for split in ["low", "medium", "high"] {
            for id in try FileManager.default.contentsOfDirectory(atPath: "\(root)/\(split)").sorted() {
                let d = "\(root)/\(split)/\(id)"
                let expected = try JSONDecoder().decode(ParityTests.Expected.self, from: try Data(contentsOf: URL(fileURLWithPath: d + "/expected.json")))
                let competition = try XCTUnwrap(registry.competitions[id])
                for (file, c) in expected.cases.sorted(by: { $0.key < $1.key }) where file.hasSuffix(".csv") {
                    let v = try service.validate(competition: competition, submissionPath: d + "/" + file, answersPath: d + "/" + expected.answers_file)
                    if let why = c.invalid {
                        XCTAssertFalse(v.valid, "\(id)/\(file): MLE-bench says invalid (\(why))")
                        XCTAssertTrue(v.message.hasPrefix(prefix) && v.message.count > prefix.count, "\(id)/\(file): \(v.message)")
                        invalid += 1
                        // The fixtures cut messages at 600 characters: such a one is a prefix of the whole message.
                        let words = String(v.message.dropFirst(prefix.count))
                        if words == why || (why.count == 600 && words.hasPrefix(why)) {
                            sameWords += 1
                            if split == "low" { lowSame += 1 }
                            if split == "medium" && c.error_type == "InvalidSubmissionError" { mediumSame += 1 }
                        } else if split == "low" && c.error_type == "InvalidSubmissionError" {
                            lowDiffer.append("\(id)/\(file): MLE-bench says \(why.prefix(120)), podium \(words.prefix(120))")
                        }
                        if split == "low" && c.error_type == "InvalidSubmissionError" { lowInvalid += 1 }
                    } else {
                        XCTAssertEqual(v.message, "Submission is valid.", "\(id)/\(file)")
                        XCTAssertTrue(v.valid)
                    }
                    checked += 1
                }
            }
        }
        // Missing file and non-CSV: MLE-bench's own messages.
        let any = try XCTUnwrap(registry.competitions["aerial-cactus-identification"])
        XCTAssertEqual(try service.validate(competition: any, submissionPath: "/nonexistent/s.csv", answersPath: "/x").message,
                       "Submission invalid! Submission file /nonexistent/s.csv does not exist.")
        let txt = NSTemporaryDirectory() + "podium-sub.txt"
        try "id,has_cactus\n".write(toFile: txt, atomically: true, encoding: .utf8)
        XCTAssertEqual(try service.validate(competition: any, submissionPath: txt, answersPath: "/x").message,
                       "Submission invalid! Submission file must be a CSV file.")
        XCTAssertGreaterThan(checked, 600)
        // MLE-bench's own words for every InvalidSubmissionError (the acceptance), Lite and the rest.
        XCTAssertEqual(lowSame, lowInvalid, lowDiffer.joined(separator: "\n"))
        XCTAssertEqual(lowInvalid, 71)
        XCTAssertEqual(mediumSame, 130, "medium split: every InvalidSubmissionError in MLE-bench's words")
        XCTAssertEqual(sameWords, 251, "all splits: every InvalidSubmissionError message word for word")
        print("validation parity: \(checked) fixtures, verdicts all equal; \(invalid) invalid, \(sameWords) with MLE-bench's exact error wording (Lite: \(lowSame) of \(lowInvalid) InvalidSubmissionError messages; medium: \(mediumSame) of 130)")
    }
}

/// The order CPython prints a set of integers in (MLE-bench's "missing ids" messages print `set(a) - set(b)`).
final class PythonIntSetTests: XCTestCase {
    func testMatchesCPython311() {
        // Printed by CPython 3.11: repr(set([8,16,1,24,9])), repr(set(range(40,0,-3)) - set([1,4,7])), and a set whose
        // values all collide in 8 slots and grow the table.
        XCTAssertEqual(PythonIntSet([8, 16, 1, 24, 9]).repr, "{1, 8, 9, 16, 24}")
        XCTAssertEqual(PythonIntSet(Array(stride(from: 40, to: 0, by: -3))).subtracting(PythonIntSet([1, 4, 7])).repr,
                       "{34, 37, 40, 10, 13, 16, 19, 22, 25, 28, 31}")
        XCTAssertEqual(PythonIntSet([5, 13, 21, 29, 37, 45, 53, 61, 69, 77, 85]).repr, "{37, 5, 69, 13, 45, 77, 61, 21, 53, 85, 29}")
    }
}

