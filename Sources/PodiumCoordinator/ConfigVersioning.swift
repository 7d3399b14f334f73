#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodiumCore
import PodiumStore

/// A sweep's configuration is its identity: a resumed sweep runs the configuration it was started with, or a new
/// version the operator accepted explicitly, never a silently changed one.
public enum ConfigVersioning {
    /// The version this start runs and what it did to get there.
    public struct Resolved: Sendable {
        public var version: Int
        /// A line for the operator when a new version was recorded.
        public var note: String?
    }

    /// Compares the sweep file with the newest stored version. The same identity resumes that version; a changed one
    /// is refused (exit 2, field by field) unless `accept`, which records a new version whose runs are runs of their
    /// own (the earlier versions' unfinished runs are ended, their results kept apart). `setup.runs` are set to the
    /// version's runs either way.
    public static func resolve(_ setup: inout SweepSetup, store: StateStore, accept: Bool) throws -> Resolved {
        let sweep = setup.config.sweep
        let agentJSON = setup.agentIdentityJSON
        let versions = try store.configVersions(sweep: sweep)
        guard let latest = versions.last else {
            try store.addConfigVersion(sweep: sweep, version: 1, configJSON: setup.configJSON, agentJSON: agentJSON)
            return Resolved(version: 1, note: nil)
        }
        let stored = (try? JSONDecoder().decode(SweepConfig.self, from: Data(latest.config.utf8)))
        let before = stored.map { SweepIdentity(config: $0, agentJSON: latest.agent) }
        let changes = before?.changes(to: SweepIdentity(config: setup.config, agentJSON: agentJSON)) ?? []
        var version = latest.version
        var note: String?
        if stored == nil || !changes.isEmpty {
            let runs = try store.runs(sweep: sweep).filter { $0.spec.configVersion == latest.version }
            let finished = runs.filter { $0.state.isTerminal || $0.state == .collecting || $0.state == .grading }.count
            let live = runs.filter { $0.state.hasLiveAttempt }.count
            let diff = stored == nil ? ["  (the stored configuration could not be read by this podium)"] : changes.map(Self.line)
            guard accept else {
                throw ConfigError(
                    file: setup.configPath,
                    found: "a sweep file that differs from the one sweep '\(sweep)' was started with (configuration version \(latest.version) in \(setup.config.state), \(finished) of its \(runs.count) runs finished):\n" + diff.joined(separator: "\n") ,
                    expected: "expected the same configuration to resume (attempts of a changed agent, image or hardware would be reported as the old one's)",
                    fix: "run it as a new sweep (another $.sweep name, or another $.state), or accept the change explicitly with "
                        + "`podium sweep \(setup.configPath) --accept-config-change`: version \(latest.version + 1) runs the whole grid as runs of its own, "
                        + "version \(latest.version)'s unfinished runs are cancelled (\(live) live attempts stopped), and the report keeps the versions apart")
            }
            version = latest.version + 1
            let ended = try store.addConfigVersion(sweep: sweep, version: version, configJSON: setup.configJSON, agentJSON: agentJSON)
            note = "podium: configuration version \(version) of sweep \(sweep) (accepted): " + changes.map(\.path).joined(separator: ", ")
                + "; its runs are new runs; version \(latest.version): \(ended.cancelled) unstarted runs cancelled, \(ended.stopping) live attempts asked to stop, \(finished) finished results kept apart"
        }
        setup.runs = setup.runs.map { $0.inVersion(version) }
        return Resolved(version: version, note: note)
    }

    static func line(_ c: SweepIdentity.Change) -> String {
        "  \(c.path): \(c.old ?? "(not set)") → \(c.new ?? "(not set)")"
    }
}
