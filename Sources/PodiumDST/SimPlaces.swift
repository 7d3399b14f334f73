#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodiumCoordinator
import PodiumCore
import PodiumProtocol

/// Simulated places: a model of what `podium-worker` does with each request (the same refusals, fencing, log
/// following and artifact passes), and the faults that befall them.
extension Simulation {
    func reachable(_ name: String) -> Bool {
        guard let p = places[name] else { return false }
        return !p.dead && now >= p.unreachableUntil
    }

    func connectDone(_ name: String) {
        guard reachable(name) else {
            up(.placeUnreachable(place: name, generation: nil, reason: "connection refused"), conn: nil)
            return
        }
        if places[name]!.conns[cur] != nil { closeConnection(name, notify: true) }
        generation += 1
        places[name]!.conns[cur] = generation
        connOwner[generation] = cur
        up(.placeConnected(place: name, generation: generation,
                           offer: PlaceOffer(gpus: places[name]!.gpus, gpuModel: nil, workerVersion: "sim", runtime: "sim")), conn: generation)
        // After `welcome`, the daemon tells the new connection the node's load.
        places[name]!.ledger.connected(tenant, sweep: config.sweep, share: sweeps[cur].share, now: now)
        places[name]!.lastLoad[cur] = nil
        pushLoads(name)
    }

    /// The connection ends; the coordinator hears of it behind what the connection still carried.
    func closeConnection(_ name: String, notify: Bool) {
        guard let conn = places[name]?.conns[cur] else { return }
        places[name]!.conns[cur] = nil
        if notify { up(.placeUnreachable(place: name, generation: conn, reason: "connection reset"), conn: conn) }
        places[name]!.ledger.disconnected(tenant, now: now)
        pushLoads(name)
    }

    /// Every coordinator's connection to the place, one after another (a place's fault befalls them all).
    func closeAllConnections(_ name: String, notify: Bool) {
        for c in sweeps.indices { within(c) { closeConnection(name, notify: notify) } }
    }

    func reply(_ name: String, _ r: Reply) {
        guard let conn = places[name]?.conns[cur] else { return }  // a place with no connection sends nowhere
        up(.reply(place: name, r), conn: conn)
    }

    /// As the daemon does on every change of its ledger: each connected coordinator hears the load when it differs
    /// from what it was last told. Freed room held by fair share is offered to everyone once its window ends.
    func pushLoads(_ name: String) {
        guard places[name] != nil else { return }
        for c in sweeps.indices where places[name]!.conns[c] != nil {
            let load = places[name]!.ledger.load(for: sweeps[c].tenant, now: now)
            guard places[name]!.lastLoad[c] != load else { continue }
            places[name]!.lastLoad[c] = load
            within(c) { reply(name, .load(load)) }
        }
    }

    /// The attempt's coordinator index, and a violation when a coordinator names another sweep's attempt.
    func ownAttempt(_ name: String, _ key: AttemptKey, _ what: String) -> Bool {
        guard places[name]!.attempts[key] != nil else { return false }
        let owner = runOwner[key.runID] ?? -1
        guard owner == cur else {
            checker.violate("coordinator \(cur) (\(config.sweep)) asked \(name) to \(what) \(key), an attempt of coordinator \(owner)'s sweep")
            return false
        }
        return true
    }

    // MARK: requests

    func nodeHandle(_ request: Request, at name: String) {
        switch request {
        case .list:
            // Only the asking sweep's attempts: another sweep's are invisible to it.
            let held = places[name]!.attempts.values.filter { runOwner[$0.key.runID] == cur }.sorted { $0.key < $1.key }.map {
                HeldAttempt(runID: $0.key.runID, epoch: $0.key.epoch, running: $0.running, result: $0.result, logBytes: $0.logBytes)
            }
            reply(name, .held(held))
        case .start(let r):
            start(r, at: name)
        case .cancel(let runID, let epoch):
            let key = AttemptKey(runID, epoch)
            if ownAttempt(name, key, "cancel"), places[name]!.attempts[key]?.running == true { end(name, key, outcome: .cancelled) }
        case .streamLog(let runID, let epoch, let from):
            let key = AttemptKey(runID, epoch)
            guard ownAttempt(name, key, "stream") else { return }
            places[name]!.attempts[key]!.followerPos = from
            follow(name, key)
        case .fetchArtifacts(let runID, let epoch, let logBytes):
            let key = AttemptKey(runID, epoch)
            if places[name]!.attempts[key] != nil && !ownAttempt(name, key, "send the artifacts of") { return }
            sendArtifacts(name, key, streamed: logBytes ?? 0)
        case .acknowledge(let runID, let epoch):
            let key = AttemptKey(runID, epoch)
            if ownAttempt(name, key, "delete"), places[name]!.attempts[key]?.running == false { places[name]!.attempts[key] = nil }
        case .validationResult(let id, _, _, _):
            // Each validation is answered once, to the place whose agent asked.
            if !validationsAnswered.insert(id).inserted { checker.violate("validation \(id) answered twice") }
            if let asked = validationsAsked[id], asked.place != name {
                checker.violate("validation \(id) of \(asked.key) answered to \(name), not to \(asked.place) which asked")
            }
        case .demand(let waiting, let smallest):
            places[name]!.ledger.demand(tenant, waiting: waiting, smallest: smallest)
            pushLoads(name)
        case .hello, .exitWhenIdle, .shutdown, .sweeps, .clean:
            break
        }
    }

    func start(_ r: StartRequest, at name: String) {
        if let seen = places[name]!.seenEpoch[r.runID], seen >= r.epoch {
            reply(name, .error(runID: r.runID, message: "refused epoch \(r.epoch) of \(r.runID): epoch \(seen) was already seen (stale dispatch)"))
            return
        }
        places[name]!.seenEpoch[r.runID] = r.epoch
        // A newer epoch fences any older attempt of the same run still live here.
        for old in places[name]!.attempts.values where old.key.runID == r.runID && old.running { end(name, old.key, outcome: .cancelled) }
        let key = AttemptKey(r.runID, r.epoch)
        // The daemon's ledger across sweeps (the real one's code): a start that does not fit, or whose room fair share
        // holds for another sweep, is refused as busy.
        if case .busy(let why) = places[name]!.ledger.admit("\(key)", tenant: tenant, amount: r.amount, now: now) {
            reply(name, .busy(runID: r.runID, epoch: r.epoch, message: "node \(name): \(why)", load: places[name]!.ledger.load(for: tenant, now: now)))
            return
        }
        pushLoads(name)
        let budget = Double(r.budgetSeconds)
        let planned: AttemptOutcome
        var length: Double
        if let w = workload {
            length = budget * (w.earlyFinishMin < 1 ? rng.uniform(w.earlyFinishMin, 1) : 1)
            planned = w.infraErrorRate > 0 && rng.chance(w.infraErrorRate) ? .infraError : .completed
            if planned == .infraError { length *= rng.uniform(0, 1) }
        } else {
            let roll = rng.uniform(0, 1)
            planned = roll < 0.7 ? .completed : roll < 0.8 ? .agentError : roll < 0.9 ? .timedOut : roll < 0.95 ? .oomKilled : .infraError
            switch planned {
            case .timedOut: length = budget + 60
            case .agentError: length = budget * rng.uniform(0.01, 0.5)
            default: length = budget * rng.uniform(0.1, 0.95)
            }
        }
        // The budget starts now: the coordinator placed the attempt only once the place's copy of its data was verified.
        let begin = now
        let dataBytes = config.dataBytes[r.competition] ?? 0
        if dataBytes > 0 {
            if let c = places[name]!.cache[r.competition], c.readyAt <= now + 1e-9 {
                places[name]!.cache[r.competition]!.users += 1
                places[name]!.cache[r.competition]!.lastUse = now
            } else {
                checker.violate("\(key) started on \(name) before \(r.competition)'s data was verified there")
            }
        }
        var a = Attempt(key: key, endAt: begin + length, budget: budget, startedAt: begin, planned: planned, gpus: r.gpus)
        a.data = dataBytes > 0 ? r.competition : nil
        a.diskFull = workload == nil && planned == .infraError && now < faultWindow && rng.chance(0.5)
        if workload != nil && planned == .completed { a.submission = SimContent.submission(key) }
        places[name]!.attempts[key] = a
        reply(name, .started(runID: r.runID, epoch: r.epoch, container: "sim-\(key)"))
        if workload == nil { queue.push(.grow(place: name, key), at: now + rng.uniform(1, 300)) }
        queue.push(.end(place: name, key), at: begin + length)
    }

    /// The shell's staging job (`CacheStager`): evict what the job names (never data a live attempt uses), then copy
    /// the data on the place's one stream, or verify the copy it holds; the answer comes when that is done. The cache
    /// is recorded durably as the real shell does (`node_data`). In the fault simulation copies fail now and then, and
    /// a place that is away fails its job.
    func stageData(_ job: DataStageJob) {
        guard places[job.place] != nil else { return }
        for c in job.evict {
            if places[job.place]!.attempts.values.contains(where: { $0.running && $0.data == c }) {
                checker.violate("\(job.place): evicting \(c) while a live attempt uses it")
            }
            if let e = places[job.place]!.cache.removeValue(forKey: c) { places[job.place]!.cacheUsed -= e.bytes }
            store.nodeData[job.place]?[c] = nil
        }
        store.nodeData[job.place, default: [:]][job.competition] = job.bytes
        let p = places[job.place]!
        if p.dead || p.unreachableUntil > now {
            later(.dataStaged(job, .failed(reason: "node \(job.place) unreachable", diskFull: false)), after: rng.uniform(1, 30))
            return
        }
        if workload == nil && rng.chance(0.08) {
            // A copy that fails verification partway: what it wrote is not trusted.
            if let e = places[job.place]!.cache.removeValue(forKey: job.competition) { places[job.place]!.cacheUsed -= e.bytes }
            later(.dataStaged(job, .failed(reason: "sha256 of a file differs (simulated)", diskFull: false)), after: rng.uniform(1, 120))
            return
        }
        if let c = p.cache[job.competition] {
            later(.dataStaged(job, .ready(copied: 0)), after: max(0, c.readyAt - now) + 0.5)
            return
        }
        let bandwidth = workload?.nodeBandwidth ?? 100e6
        let seconds = Double(job.bytes) / bandwidth
        let ready = max(now, p.stagingFreeAt) + seconds
        places[job.place]!.stagingFreeAt = ready
        places[job.place]!.cache[job.competition] = CachedData(bytes: job.bytes, lastUse: now, users: 0, readyAt: ready)
        places[job.place]!.cacheUsed += job.bytes
        bytesStaged += job.bytes
        stagingSeconds += seconds
        later(.dataStaged(job, .ready(copied: job.bytes)), after: ready - now)
    }

    /// The agent writes: the log grows, a submission appears, snapshots are taken; the follower sends what is new.
    func grow(_ name: String, _ key: AttemptKey) {
        guard var a = places[name]?.attempts[key], a.running else { return }
        // Now and then the agent checks its submission at /validate (relayed to the coordinator).
        if workload == nil, a.submission != nil, rng.chance(0.2) {
            nextValidationID += 1
            validationsAsked[nextValidationID] = (name, key)
            reply(name, .validate(runID: key.runID, epoch: key.epoch, requestID: nextValidationID, data: a.submission!))
        }
        a.logBytes += 128 * Int64(rng.int(1...5))  // pieces of 128 bytes, each naming its attempt
        if a.submission == nil, a.planned != .agentError || rng.chance(0.3), now - a.startedAt > a.budget * 0.05 {
            a.submission = SimContent.submission(key)
        }
        if a.submission != nil, a.snapshots.last.map({ now - $0.at >= 600 }) ?? true {
            let t = Int(now - a.startedAt)
            let data = SimContent.snapshot(key, at: t)
            let name7 = String(repeating: "0", count: max(0, 7 - String(t).count)) + String(t)
            a.snapshots.append(("snapshots/t\(name7)-\(a.snapshots.count).csv", data, now))
            reply(name, .snapshot(runID: key.runID, epoch: key.epoch,
                                  info: SnapshotInfo(elapsedSeconds: Double(t), sha256: SHA256.hex(Array(data)), bytes: Int64(data.count))))
        }
        places[name]!.attempts[key] = a
        follow(name, key)
        queue.push(.grow(place: name, key), at: now + rng.uniform(30, 900))
    }

    /// Sends the log from the follower's position to its end (into nothing while there is no connection).
    func follow(_ name: String, _ key: AttemptKey) {
        guard var a = places[name]?.attempts[key] else { return }
        while a.followerPos < a.logBytes {
            let n = Int(min(128 * Int64(rng.int(1...3)), a.logBytes - a.followerPos))
            reply(name, .log(runID: key.runID, epoch: key.epoch, offset: a.followerPos, data: SimContent.log(key, offset: a.followerPos, length: n)))
            a.followerPos += Int64(n)
        }
        places[name]!.attempts[key] = a
    }

    /// The attempt ends (as planned, or cancelled); its result is what the place holds and reports.
    func end(_ name: String, _ key: AttemptKey, outcome: AttemptOutcome?) {
        guard var a = places[name]?.attempts[key], a.running else { return }
        if outcome == nil && abs(a.endAt - now) > 1e-6 { return }
        let o = outcome ?? a.planned
        a.running = false
        places[name]!.ledger.release("\(key)", now: now)
        queue.push(.pushLoads(place: name), at: now + places[name]!.ledger.fairnessWindow + 0.01)
        busyGPUSeconds += Double(a.gpus) * max(0, now - a.startedAt)
        if let d = a.data, places[name]!.cache[d] != nil { places[name]!.cache[d]!.users -= 1 }
        let snaps = a.snapshots.map { SnapshotInfo(elapsedSeconds: $0.at - a.startedAt, sha256: SHA256.hex(Array($0.data)), bytes: Int64($0.data.count)) }
        var result = AttemptResult(outcome: o, exitCode: o == .completed ? 0 : 1, elapsedSeconds: max(0, now - a.startedAt),
                                   message: o == .infraError ? "the node's disk is full" : nil, snapshots: snaps,
                                   submissionSHA256: a.submission.map { SHA256.hex(Array($0)) }, logBytes: a.logBytes, gpus: [])
        if o == .infraError && a.diskFull { result.nodeDiskFull = true }
        a.result = result
        places[name]!.attempts[key] = a
        checker.truth[key] = o
        follow(name, key)
        pushLoads(name)
        reply(name, .finished(runID: key.runID, epoch: key.epoch, result: result))
    }

    /// One artifact pass: agent.log (the rest after what was streamed, when large), the submission, snapshots, done.
    func sendArtifacts(_ name: String, _ key: AttemptKey, streamed: Int64) {
        guard let a = places[name]?.attempts[key] else {
            reply(name, .error(runID: key.runID, message: "no artifacts for \(key.runID) epoch \(key.epoch) on node \(name)"))
            return
        }
        let size = a.logBytes
        let threshold: Int64 = 2048
        if size <= threshold && !(streamed > 0 && rng.chance(0.5)) {
            let data = size == 0 ? Data() : SimContent.log(key, offset: 0, length: Int(size))
            reply(name, .file(runID: key.runID, epoch: key.epoch, name: "agent.log", sha256: SHA256.hex(Array(data)), data: data))
        } else {
            var pos = streamed > 0 && streamed <= size ? streamed : 0
            while pos < size {
                let n = min(Int64(1024), size - pos)
                reply(name, .fileChunk(runID: key.runID, epoch: key.epoch, name: "agent.log", offset: pos,
                                       data: SimContent.log(key, offset: pos, length: Int(n))))
                pos += n
            }
            reply(name, .fileEnd(runID: key.runID, epoch: key.epoch, name: "agent.log", sha256: "sim-\(key)", bytes: size))
        }
        var count = 1
        if let sub = a.submission {
            let sha = SHA256.hex(Array(sub))
            if rng.chance(0.5) {
                reply(name, .file(runID: key.runID, epoch: key.epoch, name: "submission/submission.csv", sha256: sha, data: sub))
            } else {
                let cut = sub.count / 2
                reply(name, .fileChunk(runID: key.runID, epoch: key.epoch, name: "submission/submission.csv", offset: 0, data: sub.prefix(cut)))
                reply(name, .fileChunk(runID: key.runID, epoch: key.epoch, name: "submission/submission.csv", offset: Int64(cut), data: sub.suffix(from: cut)))
                reply(name, .fileEnd(runID: key.runID, epoch: key.epoch, name: "submission/submission.csv", sha256: sha, bytes: Int64(sub.count)))
            }
            count += 1
        }
        for s in a.snapshots {
            reply(name, .file(runID: key.runID, epoch: key.epoch, name: s.name, sha256: SHA256.hex(Array(s.data)), data: s.data))
            count += 1
        }
        reply(name, .artifactsDone(runID: key.runID, epoch: key.epoch, count: count))
    }
}
