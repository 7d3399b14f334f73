#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodiumCoordinator
import PodiumCore
import PodiumStore

/// The simulated durable state: what SQLite would hold (runs through the same state machine, attempts, artifacts,
/// grades, operator requests) and what the central files hold. It survives a simulated coordinator crash; nothing
/// else does.
struct SimStore {
    var runs: [String: RunRecord] = [:]
    var order: [String] = []
    var attemptPlace: [AttemptKey: String] = [:]
    var attemptOutcome: [AttemptKey: AttemptOutcome] = [:]
    var artifacts: [AttemptKey: [String: StoredArtifact]] = [:]
    var grades: [AttemptKey: [String: GradeRecord]] = [:]
    var requests: [(seq: Int64, runID: String, kind: StateStore.OperatorRequest.Kind, handled: Bool)] = []
    var events: [String: Int] = [:]
    /// Runs in a terminal state, and when each last became so.
    var terminal = 0
    var finishedAt: [String: Double] = [:]

    /// Central agent.log per attempt: each written stretch with the attempt its bytes really came from.
    var logs: [AttemptKey: [(offset: Int64, length: Int64, source: String)]] = [:]
    /// Central files other than logs: their bytes.
    var files: [AttemptKey: [String: Data]] = [:]
    /// `.part` files being written in chunks.
    var parts: [AttemptKey: [String: [Int64: Data]]] = [:]
    /// What each place's data cache holds (the `node_data` table): place → competition → bytes.
    var nodeData: [String: [String: Int64]] = [:]

    /// Applies a transition exactly as `StateStore.apply` does: the same state machine, the same node rule.
    mutating func apply(_ event: RunEvent, to runID: String, place: String?, maxInfraRetries: Int, now: Double = 0) throws -> RunRecord {
        guard var r = runs[runID] else { throw StoreError(description: "no run \(runID)") }
        var machine = RunLifecycle(state: r.state, epoch: r.epoch, infraFailures: r.infraFailures, maxInfraRetries: maxInfraRetries)
        try machine.apply(event)
        switch event {
        case .dispatch, .stage: r.node = place
        default: if !machine.state.holdsNode { r.node = nil }
        }
        if r.state.isTerminal != machine.state.isTerminal { terminal += machine.state.isTerminal ? 1 : -1 }
        if machine.state.isTerminal { finishedAt[runID] = now }
        r.state = machine.state
        r.epoch = machine.epoch
        r.infraFailures = machine.infraFailures
        runs[runID] = r
        switch event {
        case .dispatch(let e): attemptPlace[AttemptKey(runID, e)] = place
        case .finished(let o): attemptOutcome[AttemptKey(runID, r.epoch)] = o
        default: break
        }
        return r
    }

    /// What a restarted coordinator reads back (as `SweepRunner.recover` does from SQLite and the files).
    func recovered() -> CoordinatorInstance.Recovered {
        var rec = CoordinatorInstance.Recovered(runs: order.compactMap { runs[$0] })
        for r in rec.runs {
            let key = AttemptKey(r.id, r.epoch)
            if let p = attemptPlace[key] { rec.attemptPlaces[r.id] = p }
            if r.state.hasLiveAttempt || r.state == .collecting { rec.logBytes[key] = logLength(key) }
            if r.state == .grading || r.state == .completed {
                rec.artifacts[key] = Array((artifacts[key] ?? [:]).values).sorted { $0.name < $1.name }
                rec.graded[key] = Set((grades[key] ?? [:]).keys)
            }
        }
        rec.dataHeld = nodeData
        return rec
    }

    /// The central log's length (the file's size: its furthest written byte).
    func logLength(_ key: AttemptKey) -> Int64 { (logs[key] ?? []).map { $0.offset + $0.length }.max() ?? 0 }

    /// True when [0, bytes) is covered, only by bytes of this very attempt, and nothing lies beyond.
    func logIsExact(_ key: AttemptKey, bytes: Int64) -> Bool {
        let pieces = (logs[key] ?? []).sorted { $0.offset < $1.offset }
        var covered: Int64 = 0
        for p in pieces where p.length > 0 {
            guard p.source == key.description else { return false }
            if p.offset > covered { return false }
            covered = max(covered, p.offset + p.length)
        }
        return covered == bytes
    }

    mutating func writeLog(_ key: AttemptKey, offset: Int64, data: Data) {
        logs[key, default: []].append((offset, Int64(data.count), SimContent.source(of: data)))
    }

    mutating func truncateLog(_ key: AttemptKey, to bytes: Int64) {
        logs[key] = (logs[key] ?? []).compactMap { p in
            guard p.offset < bytes else { return nil }
            return (p.offset, min(p.length, bytes - p.offset), p.source)
        }
    }
}

/// Contents the simulated places produce: every piece says which attempt it came from, so a byte that lands in
/// another attempt's file, or a grade of another attempt's submission, is seen.
enum SimContent {
    /// A log piece: `<run>#<epoch>@<offset>` padded with dots to `length`.
    static func log(_ key: AttemptKey, offset: Int64, length: Int) -> Data {
        var s = "\(key)@\(offset)|"
        if s.utf8.count < length { s += String(repeating: ".", count: length - s.utf8.count) }
        return Data(s.utf8)
    }

    static func submission(_ key: AttemptKey) -> Data { Data("id,target\nsub:\(key)\n".utf8) }
    static func snapshot(_ key: AttemptKey, at t: Int) -> Data { Data("id,target\nsnap:\(key)@\(t)\n".utf8) }

    /// The attempt a piece came from (`run#epoch`).
    static func source(of data: Data) -> String {
        let text = String(decoding: data.prefix(200), as: UTF8.self)
        guard let at = text.firstIndex(of: "@") else { return "?" }
        return String(text[..<at])
    }

    /// The attempt whose submission a file holds (`sub:` or `snap:`), as its epoch.
    static func submissionEpoch(_ data: Data) -> Int? {
        let text = String(decoding: data, as: UTF8.self)
        guard let r = text.range(of: "sub:") ?? text.range(of: "snap:") else { return nil }
        let rest = text[r.upperBound...].prefix { $0 != "\n" && $0 != "@" }
        guard let hash = rest.lastIndex(of: "#") else { return nil }
        return Int(rest[rest.index(after: hash)...])
    }
}
