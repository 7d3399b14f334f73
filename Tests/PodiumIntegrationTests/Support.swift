import XCTest
import PodiumCore
import PodiumWorker
import PodiumStore
@testable import PodiumCoordinator
import PodiumSystem

let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
let testImage = "podium/test-busybox:0.1"
let baselineImage = "podium/baseline-agent:0.1"

/// Real dockerd is required. Without it these tests skip locally, and fail where PODIUM_REQUIRE_DOCKER=1 (scripts/test, CI).
func requireDocker(images: [String] = [testImage]) throws -> DockerEngine {
    let engine = DockerEngine()
    let strict = ProcessInfo.processInfo.environment["PODIUM_REQUIRE_DOCKER"] == "1"
    do {
        _ = try engine.version()
        for image in images where try !engine.imageExists(image) {
            let message = "image \(image) is missing: run scripts/build-agent-images"
            if strict { XCTFail(message) }
            throw XCTSkip(message)
        }
    } catch let e as EngineError {
        if strict { XCTFail("Docker Engine not reachable: \(e)") }
        throw XCTSkip("Docker Engine not reachable: \(e)")
    }
    return engine
}

func makeTempDir(_ tag: String) -> String {
    let dir = "/tmp/podium-it-\(tag)-\(UUID().uuidString.prefix(8))"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// The podium-worker built next to the tests.
var workerBinary: String {
    if let p = ProcessInfo.processInfo.environment["PODIUM_WORKER_BIN"] { return p }
    return repoRoot + "/.build/debug/podium-worker"
}

/// Kills the worker daemon of a work dir (tests that leave one behind).
func killDaemon(_ workDir: String) {
    if let pid = (try? String(contentsOfFile: workDir + "/daemon.pid", encoding: .utf8)).flatMap({ Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) {
        kill(pid, SIGKILL)
    }
}

/// An in-process, quiet coordinator for a sweep file, and its state.
func makeRunner(_ configPath: String, retryBackoff: Double? = nil) throws -> (SweepRunner, StateStore) {
    let setup = try SweepSetup.load(configPath: configPath, overrides: SweepOverrides())
    let store = try StateStore(path: setup.config.state)
    var options = SweepRunner.Options(workerCommand: [workerBinary])
    options.progress = false
    if let retryBackoff { options.retryBackoff = retryBackoff }
    return (SweepRunner(setup: setup, store: store, options: options), store)
}

/// Runs a coordinator on its own thread; its result lands in the box when it ends.
func runInBackground(_ runner: SweepRunner) -> Locked<Result<SweepRunner.Outcome, any Error>?> {
    let outcome = Locked<Result<SweepRunner.Outcome, any Error>?>(nil)
    BlockingThread.start { let r = Result { try runner.run() }; outcome.withLock { $0 = r } }
    return outcome
}
