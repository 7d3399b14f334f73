import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import PodiumCoordinator
import PodiumCore
import PodiumStore
import PodiumWorker
import PodiumSystem

struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a sweep: schedule its grid on the inventory's nodes, collect, grade; run again to resume.")

    @OptionGroup var sweep: SweepOptions
    @Flag(help: "No progress line.") var quiet = false
    @Flag(help: "Do not connect to the nodes before starting (worker, Docker, the agent image, declared resources).") var skipNodeChecks = false
    @Option(help: "jsonl: one JSON object per line on stdout for each run event, grade and progress tick (type run, grade, progress, done); the summary then goes to stderr.")
    var events: EventsFormat?

    enum EventsFormat: String, ExpressibleByArgument { case jsonl }

    @Flag(help: "Resume with a sweep file whose agent, image, hardware or data differ from the stored ones: a new configuration version with runs of its own (the earlier version's unfinished runs are cancelled; reports keep the versions apart).")
    var acceptConfigChange = false

    func run() throws {
        var setup = try SweepSetup.load(configPath: sweep.config, overrides: sweep.overrides)
        try FileManager.default.createDirectory(atPath: directoryOf(setup.config.state), withIntermediateDirectories: true)
        // One coordinator per state: a second one would dispatch the same runs.
        guard let lock = try CoordinatorLock.acquire(statePath: setup.config.state) else {
            let pid = CoordinatorLock.holder(statePath: setup.config.state).map { " (pid \($0))" } ?? ""
            throw ConfigError(path: "\(sweep.config): $.state", found: "another `podium sweep` is running on \(setup.config.state)\(pid)",
                              expected: "one coordinator per state file",
                              fix: "watch it with `podium status --watch`, or stop it (Ctrl-C detaches, runs go on) before starting this one")
        }
        defer { withExtendedLifetime(lock) {} }
        let store = try StateStore(path: setup.config.state)
        // The stored configuration is the sweep's identity: a changed one is refused (or made a new version) before
        // anything reaches a node.
        let version = try ConfigVersioning.resolve(&setup, store: store, accept: acceptConfigChange)
        if let note = version.note { printError(note) }
        try runPreflight(setup, probeNodes: !skipNodeChecks)
        for c in setup.competitions where GraderDescription.engine(for: c).hasPrefix("none") {
            printError("podium: warning: \(c.id) cannot be graded here: \(GraderDescription.engine(for: c)); its runs will be recorded but not scored")
        }

        // Signals go to one thread that forwards them to the loop; children start with the default mask.
        var mask = sigset_t()
        sigemptyset(&mask)
        sigaddset(&mask, SIGINT)
        sigaddset(&mask, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &mask, nil)
        signal(SIGPIPE, SIG_IGN)

        var options = SweepRunner.Options(workerCommand: [workerExecutable()])
        options.progress = !quiet
        options.eventsJSONL = events == .jsonl
        let runner = SweepRunner(setup: setup, store: store, options: options)
        let inbox = runner.inbox
        let sigmask = mask
        BlockingThread.start {
            var m = sigmask
            var sig: Int32 = 0
            while sigwait(&m, &sig) == 0 { inbox.push(.interrupt(sig)) }
        }
        let e = setup.estimate
        printError("podium: sweep \(setup.config.sweep): \(setup.runs.count) runs (\(plural(setup.competitions.count, "competition")) × \(plural(setup.config.budgets.count, "budget")) × \(plural(setup.config.hardware.count, "profile")) × \(plural(setup.config.attempts, "attempt"))), lower bound \(String(format1(e.makespanLowerBoundHours * 60))) min; state \(setup.config.state)")
        let outcome = try runner.run()
        if outcome.interrupted { throw ExitCode(130) }
        let (_, results, _) = try SweepResults.collect(store: store, sweep: setup.config.sweep)
        let exported = try SweepResults.exportGradingReports(store: store, sweep: setup.config.sweep, directory: runner.artifactsRoot + "/grading_reports")
        let summary = ReportText.render(sweep: setup.config.sweep, results: results)
        if events == .jsonl { printError(summary) } else { print(""); print(summary) }
        printError("podium: state in \(setup.config.state); log in \(runner.journalPath); artifacts in \(runner.artifactsRoot); \(exported.count) MLE-bench grading reports in \(runner.artifactsRoot)/grading_reports; `podium report` prints this again (--format json for machines)")
    }
}

/// Runs the preflight, prints what it found, and stops (exit 2) on any error.
func runPreflight(_ setup: SweepSetup, probeNodes: Bool) throws {
    let findings = Preflight.run(setup, localWorker: [workerExecutable()], probeNodes: probeNodes)
    for f in findings { printError("podium: preflight: \(f)") }
    let errors = findings.filter { $0.level == .error }
    if !errors.isEmpty {
        throw ConfigError(file: setup.configPath, found: "\(errors.count) preflight error(s) above", expected: "a sweep that can run as configured",
                          fix: "fix them and run again; nothing was dispatched")
    }
}

func format1(_ x: Double) -> String { String(Double(Int(x * 10)) / 10) }

/// `podium-worker` next to this executable, else on PATH.
func workerExecutable() -> String {
    let candidate = directoryOf(currentExecutablePath()) + "/podium-worker"
    return access(candidate, X_OK) == 0 ? candidate : "podium-worker"
}

/// "1 budget", "2 budgets".
func plural(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }
