import XCTest
@testable import PodiumGrading
import PodiumCore

final class GenericGraderTests: XCTestCase {
    func table(_ s: String) throws -> CSVTable { try CSVTable.parse(Array(s.utf8), source: "t") }

    /// The generic AUC grader reproduces the official aerial-cactus fixtures (5 decimals) that it is able to judge.
    func testAUCReproducesOfficialFixtures() throws {
        let dir = shared + "/parity/low/aerial-cactus-identification"
        guard let data = FileManager.default.contents(atPath: dir + "/expected.json") else { throw XCTSkip("parity fixtures not present") }
        struct Case: Decodable { var score: Double?; var invalid: String? }
        struct Expected: Decodable { var cases: [String: Case] }
        let expected = try JSONDecoder().decode(Expected.self, from: data)
        let answers = try CSVTable.read(path: dir + "/answers.csv")
        let grader = GenericGrader(metric: .aucROC)
        var checked = 0
        for (file, c) in expected.cases.sorted(by: { $0.key < $1.key }) where file != "bad_out_of_range.csv" {
            let sub = try CSVTable.read(path: dir + "/" + file)
            if let want = c.score {
                XCTAssertEqual(roundScore(try grader.score(submission: sub, answers: answers)), want, file)
            } else {
                XCTAssertThrowsError(try grader.score(submission: sub, answers: answers), file)
            }
            checked += 1
        }
        XCTAssertEqual(checked, 9)
    }

    func testInvalidSubmissionsNameTheProblem() throws {
        let answers = try table("id,y\n1,0\n2,1\n3,1\n")
        let g = GenericGrader(metric: .aucROC)
        func reason(_ sub: String) -> String {
            do { _ = try g.score(submission: try table(sub), answers: answers); return "valid" } catch { return "\(error)" }
        }
        XCTAssertTrue(reason("id,z\n1,0\n2,1\n3,1\n").contains("missing column 'y'"))
        XCTAssertTrue(reason("id,y,extra\n1,0,0\n2,1,0\n3,1,0\n").contains("unexpected column 'extra'"))
        XCTAssertTrue(reason("id,y\n1,0\n1,1\n3,1\n").contains("more than once"))
        XCTAssertTrue(reason("id,y\n1,0\n2,1\n").contains("missing id"))
        XCTAssertTrue(reason("id,y\n1,0\n2,1\n3,1\n4,1\n").contains("'4'"))
        XCTAssertTrue(reason("id,y\n1,0\n2,NaN\n3,1\n").contains("id '2'"))
        XCTAssertTrue(reason("id,y\n1,0\n2,inf\n3,1\n").contains("not a finite number"))
        XCTAssertEqual(reason("id,y\n3,0.9\n1,0.1\n2,0.8\n"), "valid", "rows are aligned by id, not position")
    }

    func testLogLossAndRegressionGrading() throws {
        let answers = try table("id,c_0,c_1\n1,1,0\n2,0,1\n")
        let ll = try GenericGrader(metric: .multiClassLogLoss).score(submission: try table("id,c_1,c_0\n2,0.5,0.5\n1,0.5,0.5\n"), answers: answers)
        XCTAssertEqual(ll, 0.6931471805599453, accuracy: 1e-12, "columns matched by name, rows by id")
        let rmse = try GenericGrader(metric: .rmse).score(submission: try table("id,y\n1,2\n2,4\n"), answers: try table("id,y\n1,1\n2,4\n"))
        XCTAssertEqual(rmse, (0.5).squareRoot(), accuracy: 1e-12)
    }

    func testGradingServiceMissingSubmissionAndMedals() throws {
        let reg = try CompetitionRegistry.load(mlebenchDir: repoRoot + "/benchmark/mini")
        let comp = reg.competitions["breast-cancer-diagnosis"]!
        let answers = repoRoot + "/benchmark/mini-data/breast-cancer-diagnosis/prepared/private/test.csv"
        let missing = GradingService().grade(competition: comp, submissionPath: "/nonexistent.csv", answersPath: answers)
        XCTAssertFalse(missing.submissionExists)
        XCTAssertFalse(missing.validSubmission)
        XCTAssertNotNil(missing.goldThreshold)
        // The answers themselves as a submission: a perfect AUC, gold.
        let perfect = GradingService().grade(competition: comp, submissionPath: answers, answersPath: answers)
        XCTAssertEqual(perfect.score, 1.0)
        XCTAssertTrue(perfect.goldMedal && perfect.anyMedal && perfect.validSubmission)
        XCTAssertEqual(perfect.engine, "native:podium-generic/auc-roc")
        // The sample submission: AUC 0.5, no medal.
        let sample = GradingService().grade(competition: comp, submissionPath: repoRoot + "/benchmark/mini-data/breast-cancer-diagnosis/prepared/public/sample_submission.csv", answersPath: answers)
        XCTAssertEqual(sample.score, 0.5)
        XCTAssertFalse(sample.anyMedal)
    }

    func testReportSchemaMatchesMLEBench() throws {
        let r = CompetitionReport(competitionID: "c", score: nil, goldThreshold: 1, silverThreshold: 1, bronzeThreshold: 1,
                                  medianThreshold: 0.5, anyMedal: false, goldMedal: false, silverMedal: false, bronzeMedal: false,
                                  aboveMedian: false, submissionExists: false, validSubmission: false, isLowerBetter: false,
                                  createdAt: isoTimestamp(Date(timeIntervalSince1970: 1_746_629_981.765720)), submissionPath: "x",
                                  engine: nil, error: nil)
        let obj = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(r)) as! [String: Any]
        for key in ["competition_id", "score", "gold_threshold", "silver_threshold", "bronze_threshold", "median_threshold",
                    "any_medal", "gold_medal", "silver_medal", "bronze_medal", "above_median", "submission_exists",
                    "valid_submission", "is_lower_better", "created_at", "submission_path"] {
            XCTAssertNotNil(obj[key], key)
        }
        XCTAssertTrue(obj["score"] is NSNull, "a missing score is written as null, like mlebench")
        XCTAssertEqual(r.createdAt, "2025-05-07T14:59:41.765720")
    }
}
