import PodiumCore
import PodiumProtocol
import PodiumScheduler
import PodiumStore

/// Worker replies: starts, live logs, ends of attempts, and the collection of their artifacts.
extension CoordinatorInstance {
    /// The run when the reply is about its current attempt; a stale one is recorded and ignored.
    mutating func current(_ runID: String, _ epoch: Int, _ what: String) -> RunRecord? {
        guard let r = runs[runID] else { return nil }
        guard r.epoch == epoch else {
            out.append(.record(kind: "stale_reply", runID: runID, epoch: epoch, detail: "\(what) for epoch \(epoch); current is \(r.epoch)"))
            return nil
        }
        return r
    }

    mutating func handle(_ reply: Reply, from place: String, now: Double) {
        switch reply {
        case .validate(let runID, let epoch, let requestID, let data):
            // Only the live attempt the place runs is validated; a stale epoch's agent gets a clear refusal.
            if let r = runs[runID], r.epoch == epoch, r.state == .running || r.state == .dispatched, attemptPlace[runID] == place {
                out.append(.validate(ValidationJob(key: AttemptKey(runID, epoch), place: place, requestID: requestID,
                                                   competition: r.spec.competition, data: data)))
            } else {
                out.append(.record(kind: "stale_validation", runID: runID, epoch: epoch, detail: "validation from \(place) for an attempt that is not live there"))
                out.append(.send(place: place, .validationResult(
                    requestID: requestID, result: nil, error: "this attempt (\(runID) epoch \(epoch)) is no longer live on \(place); its submission was not validated",
                    status: 409)))
            }
        case .started(let runID, let epoch, let container):
            guard let r = current(runID, epoch, "started"), r.state == .dispatched else {
                if let r = runs[runID], r.epoch != epoch {
                    data.stopping[place, default: [:]][AttemptKey(runID, epoch)] = r.spec.competition
                    out.append(.send(place: place, .cancel(runID: runID, epoch: epoch)))
                }
                return
            }
            transition(runID, .started, detail: "container \(container) on \(place)")
        case .log(let runID, let epoch, let offset, let data):
            guard runs[runID]?.epoch == epoch else { return }
            let key = AttemptKey(runID, epoch)
            out.append(.appendLog(key, offset: offset, data: data))
            logBytes[key] = max(logBytes[key] ?? 0, offset + Int64(data.count))
        case .snapshot(let runID, let epoch, let info):
            out.append(.record(kind: "snapshot", runID: runID, epoch: epoch,
                               detail: "t=\(info.elapsedSeconds)s sha256=\(info.sha256.prefix(16)) \(info.bytes) bytes"))
        case .finished(let runID, let epoch, let result):
            data.stopping[place]?[AttemptKey(runID, epoch)] = nil
            guard let r = current(runID, epoch, "finished \(result.outcome.rawValue)"), r.state.hasLiveAttempt else {
                // A cancelled run's attempt ending on its place: nothing to collect, the place may clean it up.
                if let r = runs[runID], r.epoch == epoch, r.state == .cancelled { out.append(.send(place: place, .acknowledge(runID: runID, epoch: epoch))) }
                return
            }
            let key = AttemptKey(runID, epoch)
            if let n = logBytes[key] { out.append(.closeLog(key, bytes: n)) }
            // Drain first: the slot this attempt frees must not go to another run on a full place.
            if result.nodeDiskFull == true { drain(place, reason: result.message ?? "disk full", now: now) }
            finishAttempt(r, outcome: result.outcome, result: result, detail: result.message, now: now)
        case .file(let runID, let epoch, let name, let sha, let data):
            guard let key = collecting(runID, epoch, "file \(name)", name: name) else { return }
            collections[key]?.pendingChecks += 1
            out.append(.storeFile(key, name: name, sha256: sha, data: data))
        case .fileChunk(let runID, let epoch, let name, let offset, let data):
            guard let key = collecting(runID, epoch, "chunk of \(name)", name: name) else { return }
            if name == "agent.log" {
                // The log's rest lands in the streamed copy itself; its end checks the whole file's sha256.
                collections[key]?.logSentNow += Int64(data.count)
                logBytes[key] = max(logBytes[key] ?? 0, offset + Int64(data.count))
            }
            out.append(.writeChunk(key, name: name, offset: offset, data: data))
        case .fileEnd(let runID, let epoch, let name, let sha, let bytes):
            guard let key = collecting(runID, epoch, "end of \(name)", name: name) else { return }
            collections[key]?.pendingChecks += 1
            out.append(.verifyFile(key, name: name, sha256: sha, bytes: bytes))
        case .artifactsDone(let runID, let epoch, _):
            guard let key = collecting(runID, epoch, "artifacts", name: nil) else { return }
            collections[key]?.passDone = true
            completeCollection(key, now: now)
        case .error(let runID, let message):
            out.append(.record(kind: "worker_error", runID: runID, detail: "\(place): \(message)"))
            if let runID, let r = runs[runID], r.state == .dispatched {
                finishAttempt(r, outcome: .infraError, result: nil, detail: message, now: now)
            } else if let runID, let r = runs[runID], r.state == .collecting {
                out.append(.warn("podium: \(r.spec.label): \(message)"))
            }
        case .held(let list):
            reconcile(place, held: list, now: now)
        case .load(let load):
            nodeLoad(place, load, now: now)
        case .busy(let runID, let epoch, let message, let load):
            // The refused run's slot is released and the place offers what the daemon says is available to this
            // sweep now (nothing, while the room is not ours): the next run does not go straight back to be refused.
            if let r = current(runID, epoch, "busy"), r.state == .dispatched, attemptPlace[runID] == place {
                finishAttempt(r, outcome: .nodeBusy, result: nil, detail: message, now: now)
            }
            nodeLoad(place, load, now: now)
        case .welcome, .sweeps, .cleaned:
            break
        }
    }

    /// The attempt's key when the reply belongs to its current, collecting attempt and names a file inside the attempt
    /// directory (never `..`, never absolute).
    mutating func collecting(_ runID: String, _ epoch: Int, _ what: String, name: String?) -> AttemptKey? {
        guard let r = current(runID, epoch, what), r.state == .collecting else { return nil }
        if let name, !Self.isSafeArtifactName(name) { return nil }
        let key = AttemptKey(runID, epoch)
        if collections[key] == nil { collections[key] = Collection() }
        return key
    }

    /// Artifact names stay inside the attempt directory.
    public static func isSafeArtifactName(_ name: String) -> Bool {
        !name.isEmpty && !name.hasPrefix("/") && !name.split(separator: "/").contains("..")
    }

    mutating func requestArtifacts(_ r: RunRecord) {
        let key = AttemptKey(r.id, r.epoch)
        guard let place = r.node ?? attemptPlace[r.id], places[place]?.connected == true else {
            out.append(.warn("podium: \(r.spec.label): node of attempt \(r.epoch) is not connected; its artifacts wait"))
            return
        }
        let streamed = logResent.contains(key) ? 0 : logBytes[key] ?? 0
        out.append(.send(place: place, .fetchArtifacts(runID: r.id, epoch: r.epoch, logBytes: streamed)))
    }

    /// The storage's answer about one file of a collection.
    mutating func storageChecked(_ key: AttemptKey, _ check: StorageCheck, now: Double) {
        guard collections[key] != nil else { return }
        collections[key]!.pendingChecks -= 1
        guard let r = runs[key.runID], r.epoch == key.epoch, r.state == .collecting else { return }
        switch check {
        case .stored(let a, let replaced):
            keep(a, key)
            if let replaced { out.append(.record(kind: "log_repaired", runID: key.runID, epoch: key.epoch, detail: replaced)) }
        case .verified(let a):
            keep(a, key)
            if a.name == "agent.log" {
                let sent = collections[key]!.logSentNow
                out.append(.record(kind: "log_verified", runID: key.runID, epoch: key.epoch,
                                   detail: "\(a.bytes) bytes = the node's (sha256 \(a.sha256.prefix(16))); \(a.bytes - sent) streamed, \(sent) sent at collection"))
            }
        case .corrupt(let name, let reason):
            out.append(.record(kind: "artifact_corrupt", runID: key.runID, epoch: key.epoch, detail: "\(name): \(reason)"))
        case .logMismatch(let central, let node):
            if logResent.insert(key).inserted {
                out.append(.record(kind: "log_repaired", runID: key.runID, epoch: key.epoch,
                                   detail: "central copy (\(central) bytes) differs from the node's (\(node) bytes); fetching it whole"))
                collections[key]!.logMismatch = true
            } else {
                out.append(.record(kind: "artifact_corrupt", runID: key.runID, epoch: key.epoch,
                                   detail: "agent.log: still differs from the node's after a full fetch"))
            }
        }
        completeCollection(key, now: now)
    }

    /// Records a kept artifact; submissions are remembered for grading.
    mutating func keep(_ a: StoredArtifact, _ key: AttemptKey) {
        out.append(.recordArtifact(key, a))
        if a.name.hasPrefix("snapshots/") || a.name == "submission/submission.csv" {
            artifacts[key, default: []].removeAll { $0.name == a.name }
            artifacts[key, default: []].append(a)
        }
    }

    /// Once a pass is over and every check answered: fetch the log whole again if it differed, else the attempt is
    /// collected, its submissions go to grading and the place may delete them.
    mutating func completeCollection(_ key: AttemptKey, now: Double) {
        guard let c = collections[key], c.pendingChecks == 0, let r = runs[key.runID], r.epoch == key.epoch, r.state == .collecting else { return }
        if c.askAgain {
            collections[key] = Collection()
            requestArtifacts(r)
            return
        }
        guard c.passDone else { return }
        if c.logMismatch {
            // The whole log comes again, with a new pass; the attempt is collected only after it.
            out.append(.resetLog(key))
            logBytes[key] = 0
            collections[key] = Collection()
            requestArtifacts(r)
            return
        }
        collections[key] = nil
        guard let after = transition(r.id, .collected, detail: nil) else { return }
        gradeAttempt(after, finalToo: true)
        if let place = attemptPlace[r.id], places[place]?.connected == true {
            out.append(.send(place: place, .acknowledge(runID: r.id, epoch: r.epoch)))
        }
    }
}
