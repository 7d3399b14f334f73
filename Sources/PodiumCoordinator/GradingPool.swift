#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import PodiumCore
import PodiumGrading
import PodiumStore
import PodiumSystem

/// Grading off the coordinator's loop: a bounded pool of threads (default: cores − 1, at least 1) that grade final
/// submissions before snapshots, each answer handed back as an event. A 5M-row submission then holds one grading
/// thread, not dispatch, reconnects and log reads on every node.
final class GradingPool: Sendable {
    /// Default size: leave one core to the loop and the transports.
    static var defaultWorkers: Int {
        if let text = ProcessInfo.processInfo.environment["PODIUM_GRADING_WORKERS"], let n = Int(text), n >= 1 { return n }
        return max(1, ProcessInfo.processInfo.activeProcessorCount - 1)
    }

    private struct Queues { var validations: [ValidationJob] = []; var finals: [GradeJob] = []; var snapshots: [GradeJob] = [] }
    private let queues = Locked(Queues())
    /// One token per queued job: a worker takes a token, then the most urgent job.
    private let tokens = BlockingQueue<Bool>()

    /// `grade` runs on the pool's threads; `done` receives each answer (from those threads).
    /// Validations (an agent waits on each) go before finals, finals before snapshots.
    init(workers: Int, grade: @escaping @Sendable (GradeJob) -> (GradeRecord, String), done: @escaping @Sendable (GradeJob, GradeRecord, String) -> Void,
         validate: @escaping @Sendable (ValidationJob) -> ValidationVerdict = { _ in ValidationVerdict(valid: nil, message: "no validator", status: 503) },
         validated: @escaping @Sendable (ValidationJob, ValidationVerdict) -> Void = { _, _ in }) {
        for _ in 0..<max(1, workers) {
            let queues = self.queues, tokens = self.tokens
            BlockingThread.start {
                // Grading is background work: on a busy coordinator the loop, dispatch and log streaming go first
                // (on Linux, PRIO_PROCESS with 0 sets the calling thread alone).
                _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, Self.niceness)
                while true {
                    guard let go = tokens.pop(timeout: 3600) else { continue }
                    guard go else { return }
                    let next = queues.withLock { q -> ValidationJob? in q.validations.isEmpty ? nil : q.validations.removeFirst() }
                    if let v = next {
                        validated(v, validate(v))
                        continue
                    }
                    let job = queues.withLock { q -> GradeJob? in
                        if !q.finals.isEmpty { return q.finals.removeFirst() }
                        return q.snapshots.isEmpty ? nil : q.snapshots.removeFirst()
                    }
                    guard let job else { continue }
                    let (record, summary) = grade(job)
                    done(job, record, summary)
                }
            }
        }
        workerCount = max(1, workers)
    }

    private let workerCount: Int
    /// Nice value of the grading threads (Linux sets it per thread).
    static let niceness: Int32 = 10

    func submit(_ job: GradeJob) {
        queues.withLock { q in if job.isFinal { q.finals.append(job) } else { q.snapshots.append(job) } }
        tokens.push(true)
    }

    func submit(_ job: ValidationJob) {
        queues.withLock { $0.validations.append(job) }
        tokens.push(true)
    }

    /// Ends the threads once the queued jobs are taken.
    func stop() { for _ in 0..<workerCount { tokens.push(false) } }
}

extension GradingService {
    /// Grades one job of a sweep: the submission at its central path against the competition's answers; the grade as
    /// the state records it, and a one-line summary for the person watching.
    func grade(_ job: GradeJob, setup: SweepSetup, storage: AttemptStorage) -> (GradeRecord, String) {
        let path = storage.path(job.key, job.artifact) ?? storage.attemptDir(job.key) + "/" + Self.invalidName
        let began = monotonicSeconds()
        guard let competition = setup.registry.competitions[job.competition] else {
            let why = "competition \(job.competition) is not in the registry"
            return (GradeRecord(runID: job.key.runID, epoch: job.key.epoch, artifact: job.artifact, isFinal: job.isFinal,
                                elapsedSeconds: job.elapsedSeconds, score: nil, submissionExists: false, valid: false, anyMedal: false,
                                gold: false, silver: false, bronze: false, aboveMedian: false,
                                reportJSON: #"{"error": "\#(why)"}"#), "invalid (\(why))")
        }
        var report = grade(competition: competition, submissionPath: path, answersPath: setup.answersPath(job.competition))
        report.submissionPath = path
        let json = (try? ReportJSON.encoder().encode(report)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        let record = GradeRecord(
            runID: job.key.runID, epoch: job.key.epoch, artifact: job.artifact, isFinal: job.isFinal, elapsedSeconds: job.elapsedSeconds,
            score: report.score, submissionExists: report.submissionExists, valid: report.validSubmission, anyMedal: report.anyMedal,
            gold: report.goldMedal, silver: report.silverMedal, bronze: report.bronzeMedal, aboveMedian: report.aboveMedian, reportJSON: json,
            gradingSeconds: monotonicSeconds() - began)
        let medal = report.goldMedal ? "gold" : report.silverMedal ? "silver" : report.bronzeMedal ? "bronze"
            : report.aboveMedian ? "above median" : "no medal"
        return (record, report.score.map { "score \($0), \(medal)" } ?? "invalid (\(report.error ?? "?"))")
    }

    static let invalidName = "invalid-artifact-name"

    /// Validates one relayed submission (written to a scratch file, as MLE-bench's server saves the upload first).
    func validate(_ job: ValidationJob, setup: SweepSetup, scratchDir: String) -> ValidationVerdict {
        let began = monotonicSeconds()
        func verdict(_ valid: Bool?, _ message: String, _ status: Int = 200) -> ValidationVerdict {
            ValidationVerdict(valid: valid, message: message, status: status, seconds: monotonicSeconds() - began)
        }
        guard let competition = setup.registry.competitions[job.competition] else {
            return verdict(nil, "competition \(job.competition) is not in the coordinator's registry", 500)
        }
        let path = "\(scratchDir)/\(job.key.runID)-e\(job.key.epoch)-\(job.requestID).csv"
        do {
            try FileManager.default.createDirectory(atPath: scratchDir, withIntermediateDirectories: true)
            guard FileManager.default.createFile(atPath: path, contents: job.data) else { throw SystemError("create", path: path, errno: errno) }
        } catch {
            return verdict(nil, "the coordinator could not write the submission to validate: \(error)", 500)
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            let (valid, message) = try validate(competition: competition, submissionPath: path, answersPath: setup.answersPath(job.competition))
            return verdict(valid, message)
        } catch {
            return verdict(nil, "\(error)", 500)
        }
    }
}
