import XCTest
@testable import PodiumGrading

final class CSVAndMetricTests: XCTestCase {
    func parse(_ s: String) throws -> CSVTable { try CSVTable.parse(Array(s.utf8), source: "t.csv") }

    func testQuotesBOMAndCRLF() throws {
        let t = try CSVTable.parse([0xEF, 0xBB, 0xBF] + Array("id,text\r\n1,\"a, b\"\r\n2,\"line\nbreak \"\"q\"\"\"\r\n".utf8), source: "t")
        XCTAssertEqual(t.header, ["id", "text"])
        XCTAssertEqual(t.rows.map { Array($0) }, [["1", "a, b"], ["2", "line\nbreak \"q\""]])
    }

    /// Edge cases of the packed parser: empty fields at line ends and file end, blank lines, no final newline,
    /// quoted empty fields, text after a closing quote, CR-only line ends.
    func testPackedParserEdgeCases() throws {
        XCTAssertEqual(try parse("a,b,c\n1,,\n\n2,\"\",3").rows.map { Array($0) }, [["1", "", ""], ["2", "", "3"]])
        XCTAssertEqual(try parse("a,b\n1,2").rows.map { Array($0) }, [["1", "2"]])
        XCTAssertEqual(try parse("a,b\r1,2\r3,4\r").rows.map { Array($0) }, [["1", "2"], ["3", "4"]])
        XCTAssertEqual(try parse("a,b\n\"x\"y,2\n").rows.map { Array($0) }, [["\"x\"y", "2"]])
        XCTAssertThrowsError(try parse("a,b\n1,2,\n"), "a trailing comma makes a third field")
    }

    func testRaggedRowsAndBinaryAreInvalid() {
        XCTAssertThrowsError(try parse("a,b\n1\n")) { XCTAssertTrue("\($0)".contains("line 2")) }
        XCTAssertThrowsError(try CSVTable.parse([0x61, 0x00, 0x62], source: "bin"))
        XCTAssertThrowsError(try parse(""))
        XCTAssertThrowsError(try parse("a\n\"open\n"))
    }

    func testAUCWithTies() throws {
        // sklearn: roc_auc_score([0,0,1,1], [0.1,0.4,0.35,0.8]) = 0.75; ties give half credit.
        XCTAssertEqual(try Metrics.rocAUC(labels: [false, false, true, true], scores: [0.1, 0.4, 0.35, 0.8]), 0.75, accuracy: 1e-12)
        XCTAssertEqual(try Metrics.rocAUC(labels: [false, true], scores: [0.5, 0.5]), 0.5, accuracy: 1e-12)
        XCTAssertThrowsError(try Metrics.rocAUC(labels: [true, true], scores: [0.1, 0.2]))
    }

    func testLogLossClipsWithoutRenormalising() {
        // Perfect one-hot: −log(1 − eps) ≈ 2.22e-16 (sklearn 1.5.2).
        let perfect = Metrics.logLoss(trueClass: [0, 1], probabilities: [[1, 0], [0, 1]])
        XCTAssertEqual(perfect, 2.220446049250313e-16, accuracy: 1e-20)
        XCTAssertEqual(Metrics.logLoss(trueClass: [0], probabilities: [[0.5, 0.5]]), 0.6931471805599453, accuracy: 1e-12)
        // Not renormalised: 0.25 of an unnormalised row counts as is.
        XCTAssertEqual(Metrics.logLoss(trueClass: [0], probabilities: [[0.25, 0.25]]), 1.3862943611198906, accuracy: 1e-12)
    }

    func testRegressionMetrics() {
        XCTAssertEqual(Metrics.rmse([1, 2, 3], [1, 2, 5]), (4.0 / 3).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(Metrics.mae([1, 2, 3], [2, 2, 5]), 1, accuracy: 1e-12)
        XCTAssertEqual(Metrics.accuracy(["1", "2", "3"], ["1.0", "2", "x"]), 2.0 / 3, accuracy: 1e-12)
    }

    func testRoundScore() {
        XCTAssertEqual(roundScore(0.8468280628595698), 0.84683)
        XCTAssertEqual(roundScore(0.43824085872041396), 0.43824)
    }
}
