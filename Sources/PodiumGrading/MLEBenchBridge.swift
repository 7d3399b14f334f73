#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodiumCore
import PodiumSystem

/// Grades through the official `mlebench grade` CLI, for competitions podium has no verified native grader for
/// (custom competitions, or a newer MLE-bench than podium knows). It writes the JSONL batch `mlebench grade` takes,
/// runs it against the prepared-data root and reads back the grading report it writes.
public struct MLEBenchBridge: Sendable {
    public var executable: String
    public var timeoutSeconds: Double

    public init(executable: String, timeoutSeconds: Double = 3600) {
        self.executable = executable
        self.timeoutSeconds = timeoutSeconds
    }

    /// `$PODIUM_MLEBENCH` (a path), else `mlebench` on PATH; nil when neither exists.
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) -> MLEBenchBridge? {
        if let explicit = environment["PODIUM_MLEBENCH"], !explicit.isEmpty {
            return FileManager.default.isExecutableFile(atPath: explicit) ? MLEBenchBridge(executable: explicit) : nil
        }
        for dir in (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let p = "\(dir)/mlebench"
            if FileManager.default.isExecutableFile(atPath: p) { return MLEBenchBridge(executable: p) }
        }
        return nil
    }

    public var engine: String { "mlebench-bridge:\(executable)" }

    /// Grades one submission; the report's fields are mlebench's, `engine` names the bridge.
    public func grade(competitionID: String, submissionPath: String, dataDir: String) throws(GradingError) -> CompetitionReport {
        let fm = FileManager.default
        let tmp = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        let work = tmp + "/podium-mlebench-\(UInt64.random(in: 0...UInt64.max))"
        do { try fm.createDirectory(atPath: work + "/out", withIntermediateDirectories: true) } catch {
            throw .unavailable("mlebench bridge: cannot create \(work): \(error)")
        }
        defer { try? fm.removeItem(atPath: work) }
        let line: [String: String] = ["competition_id": competitionID, "submission_path": absolute(submissionPath)]
        guard let json = try? JSONEncoder().encode(line), fm.createFile(atPath: work + "/batch.jsonl", contents: json + Data("\n".utf8)) else {
            throw .unavailable("mlebench bridge: cannot write the JSONL batch in \(work)")
        }
        let args = [executable, "grade", "--submission", work + "/batch.jsonl", "--output-dir", work + "/out", "--data-dir", absolute(dataDir)]
        guard let run = ChildProcess.capture(args, timeout: timeoutSeconds) else {
            throw .unavailable("mlebench bridge: cannot start \(executable)")
        }
        guard run.code == 0 else {
            throw .unavailable("mlebench bridge: `\(args.map(shellQuote).joined(separator: " "))` exited \(run.code): \(run.output.suffix(500))")
        }
        let files = ((try? fm.contentsOfDirectory(atPath: work + "/out")) ?? []).filter { $0.hasSuffix("grading_report.json") }.sorted()
        guard let file = files.last, let data = fm.contents(atPath: work + "/out/" + file) else {
            throw .unavailable("mlebench bridge: \(executable) wrote no *grading_report.json")
        }
        let report: GradingReport
        do { report = try ReportJSON.decode(GradingReport.self, from: data) } catch {
            throw .unavailable("mlebench bridge: \(file) is not an MLE-bench grading report: \(error)")
        }
        guard var r = report.competitionReports.first(where: { $0.competitionID == competitionID }) else {
            throw .unavailable("mlebench bridge: the report has no entry for \(competitionID)")
        }
        r.engine = engine
        r.submissionPath = submissionPath
        if !r.validSubmission && r.error == nil { r.error = "mlebench graded the submission invalid (see its log for the reason)" }
        return r
    }

    func absolute(_ p: String) -> String { p.hasPrefix("/") ? p : fm.currentDirectoryPath + "/" + p }
    private var fm: FileManager { .default }
}
