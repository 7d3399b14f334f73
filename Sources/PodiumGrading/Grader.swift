#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodiumCore
import PodiumSystem

/// Scores a submission against the answers; throws `.invalid` with a reason naming the column or id.
public protocol Grader: Sendable {
    /// Shown to the user: which engine grades (e.g. "native:podium-generic/auc-roc").
    var engine: String { get }
    func score(submission: CSVTable, answers: CSVTable) throws(GradingError) -> Double
    /// Reads the answers file (a CSV unless the competition's answers are in another format).
    func loadAnswers(path: String) throws(GradingError) -> CSVTable
}

extension Grader {
    public func loadAnswers(path: String) throws(GradingError) -> CSVTable { try CSVTable.read(path: path) }
}

/// Finds the grader for a competition: the generic one for podium-layout competitions, else a verified native
/// MLE-bench one; `grader.engine: mlebench` in config.yaml (or no native grader) sends it to the official grader.
public enum GraderRegistry {
    public static func grader(for competition: Competition) -> (any Grader)? {
        if competition.graderEngine == "podium-generic", let name = competition.graderName, let m = GenericGrader.Metric(rawValue: name) {
            return GenericGrader(metric: m)
        }
        if competition.graderEngine == "mlebench" { return nil }
        return MLEBenchGraders.verified[competition.id]
    }

    /// Which engine grades a competition, in words (`podium competitions` and `podium grade` show it).
    public static func engine(for competition: Competition, bridge: MLEBenchBridge?) -> String {
        if let g = grader(for: competition) { return g.engine }
        if let b = bridge { return b.engine }
        return "none (no native grader; install mlebench or set PODIUM_MLEBENCH to grade it with the official grader)"
    }
}

/// Grades and places a submission: the whole CompetitionReport for one file.
public struct GradingService: Sendable {
    /// The official grader, used for competitions without a native grader (nil: not installed).
    public var bridge: MLEBenchBridge?
    /// Submissions larger than this many times the answers (and above `minimumSizeCap`) are refused unread.
    public var sizeFactorCap: Int64 = 32
    public var minimumSizeCap: Int64 = 1 << 30

    public init(bridge: MLEBenchBridge? = MLEBenchBridge.locate()) { self.bridge = bridge }

    public func grade(competition: Competition, submissionPath: String, answersPath: String, now: Date = Date()) -> CompetitionReport {
        var report = CompetitionReport(
            competitionID: competition.id, score: nil, goldThreshold: nil, silverThreshold: nil, bronzeThreshold: nil,
            medianThreshold: nil, anyMedal: false, goldMedal: false, silverMedal: false, bronzeMedal: false,
            aboveMedian: false, submissionExists: FileManager.default.fileExists(atPath: submissionPath),
            validSubmission: false, isLowerBetter: nil, createdAt: isoTimestamp(now), submissionPath: submissionPath,
            engine: nil, error: nil)
        var board: Leaderboard?
        if let lb = competition.leaderboardPath {
            do { board = try Leaderboard.load(path: lb) } catch { report.error = "\(error)" }
        } else {
            report.error = "no leaderboard.csv for \(competition.id): medals cannot be placed"
        }
        if let board {
            report.goldThreshold = board.goldThreshold
            report.silverThreshold = board.silverThreshold
            report.bronzeThreshold = board.bronzeThreshold
            report.medianThreshold = board.medianThreshold
            report.isLowerBetter = board.isLowerBetter
        }
        guard let grader = GraderRegistry.grader(for: competition) else {
            guard let bridge else {
                report.error = "no grader for \(competition.id): " + GraderRegistry.engine(for: competition, bridge: nil)
                return report
            }
            report.engine = bridge.engine
            guard report.submissionExists else {
                report.error = "no submission at \(submissionPath)"
                return report
            }
            let suffix = "/" + (competition.answersFile ?? "\(competition.id)/prepared/private/test.csv")
            guard answersPath.hasSuffix(suffix) else {
                report.error = "the mlebench bridge needs the answers inside a prepared-data root (…\(suffix)); got \(answersPath)"
                return report
            }
            do {
                var r = try bridge.grade(competitionID: competition.id, submissionPath: submissionPath,
                                         dataDir: String(answersPath.dropLast(suffix.count)))
                r.createdAt = report.createdAt
                return r
            } catch {
                report.error = "\(error)"
                return report
            }
        }
        report.engine = grader.engine
        guard report.submissionExists else {
            report.error = "no submission at \(submissionPath)"
            return report
        }
        let answersSize = fileSize(answersPath), submissionSize = fileSize(submissionPath)
        let cap = max(minimumSizeCap, answersSize * sizeFactorCap)
        if submissionSize > cap {
            report.error = "submission is \(submissionSize) bytes, more than \(sizeFactorCap)× the answers (\(answersSize) bytes): refused unread"
            return report
        }
        do {
            let answers: CSVTable
            do { answers = try grader.loadAnswers(path: answersPath) } catch { throw GradingError.unavailable("answers: \(error)") }
            let submission = try CSVTable.read(path: submissionPath)
            let score = roundScore(try grader.score(submission: submission, answers: answers))
            report.score = score
            report.validSubmission = true
            if let board {
                let p = board.place(score)
                report.goldMedal = p.gold
                report.silverMedal = p.silver
                report.bronzeMedal = p.bronze
                report.anyMedal = p.anyMedal
                report.aboveMedian = p.aboveMedian
            }
        } catch {
            report.error = "\(error)"
        }
        return report
    }
}

extension GradingService {
    /// MLE-bench's `validate_submission`: the competition's grader run on the submission, its verdict in MLE-bench's
    /// words (what an agent reads from /validate). Throws `.unavailable` when podium cannot grade the competition at
    /// all (no grader, no answers): that is the coordinator's problem, not the submission's.
    public func validate(competition: Competition, submissionPath: String, answersPath: String) throws(GradingError) -> (valid: Bool, message: String) {
        guard FileManager.default.fileExists(atPath: submissionPath) else {
            return (false, "Submission invalid! Submission file \(submissionPath) does not exist.")
        }
        guard submissionPath.lowercased().hasSuffix(".csv") else {
            return (false, "Submission invalid! Submission file must be a CSV file.")
        }
        guard FileManager.default.fileExists(atPath: answersPath) else {
            throw .unavailable("Dataset for competition `\(competition.id)` is not prepared! (no answers at \(answersPath))")
        }
        func invalid(_ why: String) -> (Bool, String) {
            (false, "Submission invalid! The attempt to grade the submission has resulted in the following error message:\n\(why)")
        }
        guard let grader = GraderRegistry.grader(for: competition) else {
            guard bridge != nil else { throw .unavailable("no grader for \(competition.id)") }
            let report = grade(competition: competition, submissionPath: submissionPath, answersPath: answersPath)
            if report.engine == nil { throw .unavailable(report.error ?? "the official grader could not run") }
            return report.validSubmission ? (true, "Submission is valid.") : invalid(report.error ?? "the grader refused the submission")
        }
        let answersSize = fileSize(answersPath), submissionSize = fileSize(submissionPath)
        if submissionSize > max(minimumSizeCap, answersSize * sizeFactorCap) {
            return invalid("submission is \(submissionSize) bytes, more than \(sizeFactorCap)× the answers (\(answersSize) bytes)")
        }
        let answers: CSVTable
        do { answers = try grader.loadAnswers(path: answersPath) } catch { throw .unavailable("answers: \(error)") }
        let submission: CSVTable
        do { submission = try CSVTable.read(path: submissionPath) } catch {
            if case .unavailable = error { throw error }
            return invalid("\(error)")
        }
        do {
            _ = try grader.score(submission: submission, answers: answers)
            return (true, "Submission is valid.")
        } catch {
            if case .unavailable = error { throw error }
            // The verdict is the grader's; the words are MLE-bench's where podium knows them.
            return invalid(MLEBenchMessages.message(competition: competition.id, submission: submission, answers: answers) ?? "\(error)")
        }
    }
}

/// "2025-05-07T14:59:41.765720", the timestamp form of MLE-bench's reports (UTC).
public func isoTimestamp(_ date: Date) -> String {
    let totalMicros = Int((date.timeIntervalSince1970 * 1_000_000).rounded())
    var secs = totalMicros.floorDiv(1_000_000)
    let micros = totalMicros - secs * 1_000_000
    let days = secs.floorDiv(86_400)
    secs -= days * 86_400
    let (y, m, d) = civilFromDays(days)
    func p(_ v: Int, _ w: Int) -> String { let s = String(v); return String(repeating: "0", count: max(0, w - s.count)) + s }
    return "\(p(y, 4))-\(p(m, 2))-\(p(d, 2))T\(p(secs / 3600, 2)):\(p(secs / 60 % 60, 2)):\(p(secs % 60, 2)).\(p(micros, 6))"
}

extension Int {
    func floorDiv(_ d: Int) -> Int { self >= 0 ? self / d : -((-self + d - 1) / d) }
}

/// Howard Hinnant's days-from-civil inverse.
func civilFromDays(_ z0: Int) -> (Int, Int, Int) {
    let z = z0 + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
    let y = yoe + era * 400
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    return (m <= 2 ? y + 1 : y, m, d)
}
