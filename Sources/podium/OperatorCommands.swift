import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodiumCoordinator
import PodiumCore
import PodiumStore
import PodiumSystem

/// What `podium cancel` and `podium retry` share: the state, the runs named, and how the request is carried out.
struct OperatorOptions: ParsableArguments {
    @OptionGroup var stateOptions: StateOptions
    @Option(help: "Seconds to wait for a running coordinator to carry the request out.") var wait: Double = 15
}

enum OperatorCommand {
    /// Resolves run ids (full ids, unique prefixes, or labels) within the sweep.
    static func resolve(_ ids: [String], runs: [RunRecord], statePath: String) throws -> [RunRecord] {
        try RunListing.resolve(ids, runs: runs, statePath: statePath)
    }

    /// Writes the requests, then either lets the running coordinator carry them out (waiting for its answer) or,
    /// with none running, applies what needs no node. Prints one line per run.
    static func submit(_ kind: StateStore.OperatorRequest.Kind, runs: [RunRecord], opened: OpenedState, options: OperatorOptions) throws {
        let (store, sweep, statePath) = (opened.store, opened.sweep, opened.statePath)
        let before = try store.lastRequestSeq()
        try store.request(kind, runIDs: runs.map(\.id), sweep: sweep)
        let label = Dictionary(uniqueKeysWithValues: runs.map { ($0.id, $0.spec.label) })
        let seqs = (before + 1)...(before + Int64(runs.count))
        if let lock = try CoordinatorLock.acquire(statePath: statePath) {
            // No coordinator: apply now what needs no node; a live attempt waits for the next `podium sweep`.
            try OperatorRequests.applyOffline(store: store, sweep: sweep, maxInfraRetries: opened.maxInfraRetries)
            withExtendedLifetime(lock) {}
        } else {
            let pid = CoordinatorLock.holder(statePath: statePath).map { " (pid \($0))" } ?? ""
            printError("podium: a coordinator is running\(pid); it carries the request out")
            let until = monotonicSeconds() + options.wait
            while monotonicSeconds() < until, try seqs.contains(where: { try store.requestOutcome($0) == nil }) { sleepSeconds(0.2) }
        }
        var waiting = 0
        for (seq, r) in zip(seqs, runs) {
            if let outcome = try store.requestOutcome(seq) {
                print("\(r.id)  \(label[r.id] ?? "")  \(outcome)")
            } else {
                waiting += 1
                print("\(r.id)  \(label[r.id] ?? "")  requested: the attempt is live on \(r.node ?? "its node"); the coordinator stops it (now if `podium sweep` runs, else when it next starts)")
            }
        }
        if waiting > 0 && kind == .cancel { printError("podium: \(waiting) request(s) wait for the coordinator") }
    }
}

struct Cancel: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Cancel runs (or the whole sweep): pending runs are dropped, live attempts stopped on their nodes.",
        discussion: "A cancelled run keeps its attempts and logs in the state; `podium retry RUN` queues it again.")

    @Argument(help: ArgumentHelp("[sweep file] run…: runs as ids, unique prefixes or labels (`podium runs` lists them); the sweep file (default scheduler.json) may come first.", valueName: "run"))
    var arguments: [String] = []
    @Flag(help: "Cancel every run of the sweep that has not finished.") var sweep = false
    @OptionGroup var options: OperatorOptions

    func validate() throws {
        let runIDs = splitConfigArgument(arguments).rest
        if runIDs.isEmpty == !sweep { throw ValidationError("name the runs to cancel, or --sweep for all unfinished runs (not both)") }
    }

    func run() throws {
        let (config, runIDs) = splitConfigArgument(arguments)
        let opened = try openState(config: config, options.stateOptions)
        let all = try opened.store.runs(sweep: opened.sweep)
        let targets = sweep ? all.filter { !$0.state.isTerminal } : try OperatorCommand.resolve(runIDs, runs: all, statePath: opened.statePath)
        guard !targets.isEmpty else { print("nothing to cancel: every run of \(opened.sweep) has finished"); return }
        try OperatorCommand.submit(.cancel, runs: targets, opened: opened, options: options)
    }
}

struct Retry: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Queue failed or cancelled runs again (a new attempt with a higher epoch; earlier attempts stay recorded).",
        discussion: "Completed runs are never retried: their result stands. Without a running coordinator, `podium sweep` runs them.")

    @Argument(help: ArgumentHelp("[sweep file] run…: runs as ids, unique prefixes or labels (`podium runs` lists them); the sweep file (default scheduler.json) may come first.", valueName: "run"))
    var arguments: [String] = []
    @Flag(help: "Retry every failed run of the sweep.") var allFailed = false
    @OptionGroup var options: OperatorOptions

    func validate() throws {
        let runIDs = splitConfigArgument(arguments).rest
        if runIDs.isEmpty == !allFailed { throw ValidationError("name the runs to retry, or --all-failed (not both)") }
    }

    func run() throws {
        let (config, runIDs) = splitConfigArgument(arguments)
        let opened = try openState(config: config, options.stateOptions)
        let all = try opened.store.runs(sweep: opened.sweep)
        // A run of an earlier configuration version would run with the current version's agent and be credited to
        // the old one: only the current version's runs are retried.
        let current = all.map(\.spec.configVersion).max() ?? 1
        var targets = allFailed ? all.filter { $0.state == .failed } : try OperatorCommand.resolve(runIDs, runs: all, statePath: opened.statePath)
        if let old = targets.first(where: { $0.spec.configVersion < current }), !allFailed {
            throw ConfigError(path: "RUN", found: "\(old.spec.label) belongs to configuration version \(old.spec.configVersion); the sweep runs version \(current)",
                              expected: "runs of the current configuration version",
                              fix: "retry its counterpart \(old.spec.inVersion(current).label) instead (the same cell in version \(current))")
        }
        targets.removeAll { $0.spec.configVersion < current }
        guard !targets.isEmpty else { print("nothing to retry: no failed run in \(opened.sweep)"); return }
        try OperatorCommand.submit(.retry, runs: targets, opened: opened, options: options)
    }
}
