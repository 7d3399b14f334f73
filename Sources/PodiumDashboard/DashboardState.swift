import Foundation
import PodiumCoordinator
import PodiumCore
import PodiumStore
import PodiumSystem

/// What the dashboard knows of one sweep at one moment: read from the state in one go and kept until the state changes.
public struct SweepView: Sendable {
    public var name: String
    public var overview: SweepOverview
    public var runs: [RunRecord]
    public var attempts: [AttemptRecord]
    /// The final grade of each run's current attempt, by run id.
    public var finals: [String: GradeRecord]
    public var inventoryPath: String?
    public var profiles: [String: (gpus: Int, cpus: Double)]

    /// A run's cell colour: its state, and for completed runs its medal.
    public func medal(_ r: RunRecord) -> String? {
        guard r.state == .completed, let g = finals[r.id] else { return nil }
        if g.gold { return "gold" }
        if g.silver { return "silver" }
        if g.bronze { return "bronze" }
        if g.aboveMedian { return "median" }
        return g.valid ? "valid" : "invalid"
    }

    /// Attempts that ended without a result (and runs failed for good), newest first.
    public var failures: [AttemptRecord] {
        attempts.filter { a in a.outcome.map { $0 != .completed && $0 != .cancelled } ?? false }
            .sorted { $0.dispatchedAt > $1.dispatchedAt }
    }
}

/// The dashboard's read-only view of a state file: every sweep in it, re-read when SQLite says another connection
/// committed (`PRAGMA data_version`) or after `maxAge` seconds (the ETA and the coordinator's presence move with time).
public final class DashboardState: @unchecked Sendable {
    public let statePath: String
    let store: StateStore
    private let lock = NSLock()
    private var cached: (version: Int, at: Double, sweeps: [SweepView])?
    private var renderCache: [String: (version: Int, at: Double, body: String)] = [:]
    public var maxAge: Double = 2
    public var minInterval: Double = 0.5

    public init(statePath: String) throws {
        self.statePath = statePath
        store = try StateStore(readingOnly: statePath)
    }

    /// Every sweep in the state, most recently updated first.
    public func sweeps() throws -> [SweepView] {
        lock.lock(); defer { lock.unlock() }
        return try current().sweeps
    }

    public func sweep(_ name: String) throws -> SweepView? { try sweeps().first { $0.name == name } }

    /// A value derived from the sweeps (a rendered page, a JSON body), computed once per state version.
    public func memo(_ key: String, _ make: ([SweepView]) throws -> String) throws -> String {
        lock.lock(); defer { lock.unlock() }
        let now = monotonicSeconds()
        let c = try current(now: now)
        if let hit = renderCache[key], hit.version == c.version, hit.at == c.at { return hit.body }
        let body = try make(c.sweeps)
        if renderCache.count > 256 { renderCache.removeAll() }
        renderCache[key] = (c.version, c.at, body)
        return body
    }

    /// The state's version as the cache sees it: changes when the sweeps were re-read.
    public func version() throws -> String {
        lock.lock(); defer { lock.unlock() }
        let c = try current()
        return "\(c.version)-\(c.at)"
    }

    private func current(now: Double = monotonicSeconds()) throws -> (version: Int, at: Double, sweeps: [SweepView]) {
        let version = try store.dataVersion()
        // Unchanged: keep it up to maxAge. Changed: re-read, but at most every minInterval (a running coordinator commits
        // many times a second; views may be that much behind).
        if let c = cached, c.version == version ? now - c.at < maxAge : now - c.at < minInterval { return c }
        let sweeps = try store.sweepNames().map(read)
        cached = (version, now, sweeps)
        return cached!
    }

    private struct InventoryOnly: Decodable { var inventory: String? }

    private func read(_ name: String) throws -> SweepView {
        let runs = try store.runs(sweep: name)
        let attempts = try store.attempts(sweep: name)
        let inventory = try store.sweepConfigJSON(name).flatMap { try? JSONDecoder().decode(InventoryOnly.self, from: Data($0.utf8)) }?.inventory
        let overview = try SweepOverview.read(store: store, sweep: name, statePath: statePath, inventoryPath: inventory,
                                              runs: runs, attempts: attempts)
        let epochs = Dictionary(runs.map { ($0.id, $0.epoch) }, uniquingKeysWith: { a, _ in a })
        var finals = [String: GradeRecord]()
        for g in try store.finalGrades(sweep: name) where epochs[g.runID] == g.epoch { finals[g.runID] = g }
        return SweepView(name: name, overview: overview, runs: runs, attempts: attempts, finals: finals, inventoryPath: inventory,
                         profiles: try SweepResults.profileResources(store: store, sweep: name))
    }

    // MARK: one run

    public struct RunDetail: Sendable {
        public var run: RunRecord
        public var attempts: [AttemptRecord]
        public var grades: [GradeRecord]
        public var events: [StateStore.EventRecord]
        public var logPaths: [Int: String]
    }

    /// One run, looked up by id in the state (never a path from the URL); nil when the state has no such run.
    public func run(_ id: String) throws -> RunDetail? {
        guard let run = try store.run(id) else { return nil }
        let storage = AttemptStorage(root: AttemptStorage.root(statePath: statePath, sweep: run.spec.sweep))
        let attempts = try store.attempts(runID: id)
        var logs = [Int: String]()
        for a in attempts { logs[a.epoch] = storage.logPath(a.key) }
        return RunDetail(run: run, attempts: attempts, grades: try store.grades(runID: id), events: try store.timeline(runID: id),
                         logPaths: logs)
    }

    /// The agent.log of one attempt, by run id and epoch as the state knows them.
    public func logPath(run id: String, epoch: Int) throws -> String? {
        guard let run = try store.run(id), try store.attempts(runID: id).contains(where: { $0.epoch == epoch }) else { return nil }
        return AttemptStorage(root: AttemptStorage.root(statePath: statePath, sweep: run.spec.sweep)).logPath(AttemptKey(id, epoch))
    }

    public func nodeEvents() throws -> [String: StateStore.EventRecord] { try store.lastNodeEvents() }

    public func reportHTML(sweep: String) throws -> String { try SweepReportHTML.render(store: store, sweep: sweep) }
}
