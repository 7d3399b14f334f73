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
import PodiumProtocol
import PodiumStore
import PodiumSystem

/// What happened in a sweep, for people and programs: a log file beside the state (`<state dir>/<sweep>.log`, one
/// timestamped line per state change, warning and note (graded finals among them); appended across restarts) and, with `podium sweep --events
/// jsonl`, one JSON object per line on stdout (`run`, `grade`, `progress`, `done`). Called from the loop only.
final class SweepJournal {
    private let fd: Int32
    let path: String
    private let jsonl: Bool
    private let encoder: JSONEncoder

    init(statePath: String, sweep: String, jsonl: Bool) {
        path = directoryOf(statePath) + "/\(sweep).log"
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        self.jsonl = jsonl
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    }
    deinit { if fd >= 0 { close(fd) } }

    /// A line of the log file (best effort: the state, not this file, is the record).
    func log(_ text: String) {
        guard fd >= 0 else { return }
        let line = isoTimestamp(Date()) + "Z " + text.replacingOccurrences(of: "\n", with: " ") + "\n"
        _ = Array(line.utf8).withUnsafeBytes { writeAll(fd, $0) }
    }

    private func emit<T: Encodable>(_ value: T) {
        guard jsonl, let data = try? encoder.encode(value) else { return }
        _ = (Array(data) + [10]).withUnsafeBytes { writeAll(1, $0) }
    }

    struct RunEventLine: Encodable {
        var type = "run"
        var at: Double
        var run_id: String
        var label: String
        var event: String
        var node: String?
        var detail: String?
    }

    struct GradeLine: Encodable {
        var type = "grade"
        var at: Double
        var run_id: String
        var label: String
        var epoch: Int
        var artifact: String
        var final: Bool
        var elapsed_seconds: Double?
        var valid: Bool
        var score: Double?
        var medal: String
    }

    struct ProgressLine: Encodable {
        var type: String
        var at: Double
        var total: Int
        var done: Int
        var runs: [String: Int]
        var eta_hours: Double?
    }

    func runEvent(_ spec: RunSpec?, runID: String, event: RunEvent, node: String?, detail: String?) {
        let label = spec?.label ?? runID
        log("\(label) [\(runID)] \(event)\(node.map { " on \($0)" } ?? "")\(detail.map { ": \($0)" } ?? "")")
        emit(RunEventLine(at: wallClockSeconds(), run_id: runID, label: label, event: event.description, node: node, detail: detail))
    }

    func grade(_ g: GradeRecord, spec: RunSpec?) {
        let medal = g.gold ? "gold" : g.silver ? "silver" : g.bronze ? "bronze" : g.aboveMedian ? "above_median" : "none"
        let label = spec?.label ?? g.runID
        emit(GradeLine(at: wallClockSeconds(), run_id: g.runID, label: label, epoch: g.epoch, artifact: g.artifact, final: g.isFinal,
                       elapsed_seconds: g.elapsedSeconds, valid: g.valid, score: g.score, medal: medal))
    }

    func progress(_ counts: [RunState: Int], total: Int, etaHours: Double?, final: Bool = false) {
        let done = RunState.allCases.filter(\.isTerminal).reduce(0) { $0 + (counts[$1] ?? 0) }
        emit(ProgressLine(type: final ? "done" : "progress", at: wallClockSeconds(), total: total, done: done,
                          runs: Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, $0.value) }), eta_hours: etaHours))
    }
}
