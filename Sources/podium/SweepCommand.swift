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

    func run() throws {
        let setup = try SweepSetup.load(configPath: sweep.config, overrides: sweep.overrides)
        try setup.checkPreparedData()
        try setup.checkSecrets()
        for w in setup.agentWarnings { printError(w) }
        if setup.inventory.nodes.contains(where: { $0.transport == .local && $0.runtime == .docker }) {
            do { _ = try DockerEngine().version() } catch {
                throw ConfigError(path: "\(setup.config.inventory): local node", found: "\(error)",
                                  expected: "a running Docker Engine on this machine", fix: "start dockerd (scripts/demo does) or set DOCKER_HOST")
            }
        }
        for c in setup.competitions where GraderDescription.engine(for: c).hasPrefix("none") {
            printError("podium: warning: \(c.id) cannot be graded here: \(GraderDescription.engine(for: c)); its runs will be recorded but not scored")
        }
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

        // Signals go to one thread that forwards them to the loop; children start with the default mask.
        var mask = sigset_t()
        sigemptyset(&mask)
        sigaddset(&mask, SIGINT)
        sigaddset(&mask, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &mask, nil)
        signal(SIGPIPE, SIG_IGN)

        var options = SweepRunner.Options(workerCommand: [workerExecutable()])
        options.progress = !quiet
        let runner = SweepRunner(setup: setup, store: store, options: options)
        let inbox = runner.inbox
        let sigmask = mask
        BlockingThread.start {
            var m = sigmask
            var sig: Int32 = 0
            while sigwait(&m, &sig) == 0 { inbox.push(.interrupt(sig)) }
        }
        let e = setup.estimate
        printError("podium: sweep \(setup.config.sweep): \(setup.runs.count) runs (\(setup.competitions.count) competitions × \(setup.config.budgets.count) budgets × \(setup.config.hardware.count) profiles × \(setup.config.attempts) attempts), lower bound \(String(format1(e.makespanLowerBoundHours * 60))) min; state \(setup.config.state)")
        let outcome = try runner.run()
        if outcome.interrupted { throw ExitCode(130) }
        let (_, results, _) = try SweepResults.collect(store: store, sweep: setup.config.sweep)
        let exported = try SweepResults.exportGradingReports(store: store, sweep: setup.config.sweep, directory: runner.artifactsRoot + "/grading_reports")
        print("")
        print(ReportText.render(sweep: setup.config.sweep, results: results))
        printError("podium: state in \(setup.config.state); artifacts in \(runner.artifactsRoot); \(exported.count) MLE-bench grading reports in \(runner.artifactsRoot)/grading_reports; `podium report` prints this again (--format json for machines)")
    }
}

func format1(_ x: Double) -> String { String(Double(Int(x * 10)) / 10) }

/// `podium-worker` next to this executable, else on PATH.
func workerExecutable() -> String {
    let candidate = directoryOf(currentExecutablePath()) + "/podium-worker"
    return access(candidate, X_OK) == 0 ? candidate : "podium-worker"
}
