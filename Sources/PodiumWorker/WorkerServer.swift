#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodiumCore
import PodiumProtocol

/// Serves the frame protocol for one node: starts and supervises attempts, returns artifacts, fences stale epochs.
/// In this first version the server lives as long as its connection (the `local` transport's child process);
/// the long-lived daemon with re-adoption after restarts is issue 4.
public final class WorkerServer: @unchecked Sendable {
    public let node: String
    public let workDir: String
    let runtime: any AgentRuntime
    let writer: FrameWriter
    let version: String
    let capacity: (gpus: Int, cpus: Double, memoryBytes: Int64)
    public let gpuPool: GPUPool
    /// runID → newest epoch seen; an older epoch is refused (fencing).
    private let epochs = Locked<[String: Int]>([:])
    private let live = Locked<[String: RunSupervisor]>([:])

    /// `gpus` are the node's devices (from `GPUInventory.resolve`); the count reported to the coordinator is theirs.
    public init(node: String, workDir: String, runtime: any AgentRuntime, output: FrameWriter, version: String,
                capacity: (cpus: Double, memoryBytes: Int64), gpus: [GPUDevice] = []) {
        self.node = node; self.workDir = workDir; self.runtime = runtime; self.writer = output
        self.version = version; self.capacity = (gpus.count, capacity.cpus, capacity.memoryBytes)
        self.gpuPool = GPUPool(devices: gpus)
    }

    private func send(_ r: Reply) {
        do { try writer.send(r) } catch { log("cannot send to the coordinator: \(error)") }
    }

    func log(_ s: String) {
        printError("podium-worker[\(node)]: \(s)")
    }

    /// Reads requests until the connection closes, then stops the attempts it started.
    public func serve(input: FrameReader) {
        do {
            guard case .hello(let v, let who) = try input.next(Request.self) else {
                send(.error(runID: nil, message: "expected hello as the first frame"))
                return
            }
            guard v == podiumProtocolVersion else {
                send(.error(runID: nil, message: FrameError.versionMismatch(ours: podiumProtocolVersion, theirs: v).description))
                return
            }
            log("coordinator \(who) connected")
            send(.welcome(protocolVersion: podiumProtocolVersion, workerVersion: version, node: node,
                          gpus: capacity.gpus, cpus: capacity.cpus, memoryBytes: capacity.memoryBytes))
            while true {
                let req = try input.next(Request.self)
                if case .shutdown = req { break }
                handle(req)
            }
        } catch FrameError.closed {
            log("coordinator disconnected")
        } catch {
            log("connection failed: \(error)")
        }
        stopAll()
    }

    func handle(_ req: Request) {
        switch req {
        case .hello:
            send(.error(runID: nil, message: "hello sent twice"))
        case .start(let r):
            start(r)
        case .cancel(let runID, let epoch):
            live.withLock { $0[runID] }.flatMap { $0.request.epoch == epoch ? $0 : nil }?.cancel()
        case .list:
            let held = live.withLock { $0.values.map { HeldAttempt(runID: $0.request.runID, epoch: $0.request.epoch, running: true) } }
            send(.held(held.sorted { $0.runID < $1.runID }))
        case .fetchArtifacts(let runID, let epoch):
            sendArtifacts(runID: runID, epoch: epoch)
        case .acknowledge(let runID, let epoch):
            if let dir = attemptDir(runID: runID, epoch: epoch) { try? FileManager.default.removeItem(atPath: dir) }
        case .shutdown:
            break
        }
    }

    private func start(_ r: StartRequest) {
        let fenced = epochs.withLock { seen -> Int? in
            if let e = seen[r.runID], e >= r.epoch { return e }
            seen[r.runID] = r.epoch
            return nil
        }
        if let newer = fenced {
            send(.error(runID: r.runID, message: "refused epoch \(r.epoch) of \(r.runID): epoch \(newer) was already seen (stale dispatch)"))
            return
        }
        let layout = AttemptLayout(workDir: workDir, sweep: r.sweep, runID: r.runID, epoch: r.epoch)
        let labels = ["podium.sweep": r.sweep, "podium.run": r.runID, "podium.epoch": String(r.epoch),
                      "podium.node": node, "podium.attempt": r.env["AGENT_SEED"] ?? "1"]
        let owner = "\(r.runID)#\(r.epoch)"
        guard let gpus = gpuPool.acquire(r.gpus, for: owner) else {
            send(.error(runID: r.runID, message: "node \(node) has no \(r.gpus) free GPU(s) for \(r.runID) epoch \(r.epoch)"))
            return
        }
        let sup = RunSupervisor(request: r, layout: layout, runtime: runtime, labels: labels, gpus: gpus) { [weak self] reply in
            self?.send(reply)
        }
        live.withLock { $0[r.runID] = sup }
        send(.started(runID: r.runID, epoch: r.epoch, container: "podium-\(r.runID)-e\(r.epoch)"))
        BlockingThread.start { [self] in
            let result = sup.run()
            gpuPool.release(owner: owner)
            live.withLock { if $0[r.runID] === sup { $0[r.runID] = nil } }
            send(.finished(runID: r.runID, epoch: r.epoch, result: result))
        }
    }

    private func attemptDir(runID: String, epoch: Int) -> String? {
        guard isSafeName(runID) else { return nil }
        let fm = FileManager.default
        for sweep in (try? fm.contentsOfDirectory(atPath: workDir)) ?? [] {
            let dir = "\(workDir)/\(sweep)/\(runID)/e\(epoch)"
            if fm.fileExists(atPath: dir) { return dir }
        }
        return nil
    }

    /// Sends the final submission and every snapshot, each with its sha256, then `artifactsDone`.
    private func sendArtifacts(runID: String, epoch: Int) {
        guard let dir = attemptDir(runID: runID, epoch: epoch) else {
            send(.error(runID: runID, message: "no artifacts for \(runID) epoch \(epoch) on node \(node)"))
            return
        }
        let fm = FileManager.default
        var names = ["agent.log", "submission/submission.csv"]
        names += ((try? fm.contentsOfDirectory(atPath: dir + "/snapshots")) ?? []).sorted().map { "snapshots/" + $0 }
        var count = 0
        for name in names {
            guard let data = fm.contents(atPath: dir + "/" + name) else { continue }
            guard data.count <= maxFrameBytes - 4096 else {
                send(.error(runID: runID, message: "\(name) is \(data.count) bytes; artifacts over \(maxFrameBytes >> 20) MiB are not transferable yet (issue 4)"))
                continue
            }
            send(.file(runID: runID, epoch: epoch, name: name, sha256: SHA256.hex(Array(data)), data: data))
            count += 1
        }
        send(.artifactsDone(runID: runID, epoch: epoch, count: count))
    }

    /// Stops every attempt this connection started (no daemon to keep them yet) and waits for them to end.
    private func stopAll() {
        let sups = live.withLock { Array($0.values) }
        guard !sups.isEmpty else { return }
        log("stopping \(sups.count) attempt(s): the coordinator is gone and this worker is not a daemon yet")
        for s in sups { s.cancel() }
        let until = monotonicSeconds() + 30
        while !live.withLock({ $0.isEmpty }) && monotonicSeconds() < until { sleepSeconds(0.1) }
    }

    /// Removes containers a previous worker of this node left behind (it crashed); their attempts are fenced.
    public func removeOrphans(engine: DockerEngine) {
        guard let orphans = try? engine.list(label: "podium.node=\(node)") else { return }
        for o in orphans {
            log("removing orphaned container \(o.id.prefix(12)) of run \(o.labels["podium.run"] ?? "?") epoch \(o.labels["podium.epoch"] ?? "?")")
            try? engine.remove(o.id)
        }
    }
}
