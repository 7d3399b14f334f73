import PodiumCore
import PodiumScheduler
import PodiumStore

/// One competition's data on one place.
struct DataKey: Hashable, Sendable {
    var place: String
    var competition: String
}

/// Lazy data (issue 18): what each place's cache holds, what is being staged, and the runs that wait for it.
struct DataState: Sendable {
    /// Place → competition → bytes on the place's disk as the state recorded them (verified, partly staged or being
    /// staged). The placement model (`Scheduler`) decides what a place should hold; what is on disk and no longer in
    /// the model, and that no run uses, is evicted by the place's next staging job.
    var onDisk: [String: [String: Int64]] = [:]
    /// Verified on the place during this coordinator run. A copy verified by an earlier run is checked again (by
    /// size and the recorded digests: cheap when nothing changed) before its first run here uses it.
    var ready = Set<DataKey>()
    /// Runs in `staging`, by the data they wait for (in placement order), and the other way round.
    var waiters: [DataKey: [String]] = [:]
    var waitingOn: [String: DataKey] = [:]
    /// Jobs handed to the shell and not answered yet.
    var active: [DataKey: DataStageJob] = [:]
    /// Data that runs wait for and that waits for a staging slot (per place and per source), in order.
    var queue: [DataKey] = []
    /// Attempts a place may still run although the state has ended them (fenced, or cancelled by the operator: their
    /// cancel is sent): their data stays until the place reports them ended.
    var stopping: [String: [AttemptKey: String]] = [:]
}

extension CoordinatorInstance {
    /// With lazy data, a run placed where its competition's data has not been verified in this coordinator run.
    func needsStaging(_ r: RunRecord, on place: String) -> Bool {
        guard (config.dataBytes[r.spec.competition] ?? 0) > 0 else { return false }
        return !data.ready.contains(DataKey(place: place, competition: r.spec.competition))
    }

    /// The run waits on the place (resources held, no attempt, budget not started) until its data is verified there;
    /// a competition is staged once per place however many runs wait for it.
    mutating func waitForData(_ r: RunRecord, on place: String) {
        let key = DataKey(place: place, competition: r.spec.competition)
        let staging = data.active[key] != nil
        guard transition(r.id, .stage, place: place,
                         detail: "waits for \(key.competition)'s public data on \(place)\(staging ? " (being staged)" : "")") != nil else { return }
        data.waiters[key, default: []].append(r.id)
        data.waitingOn[r.id] = key
        if !staging && !data.queue.contains(key) { data.queue.append(key) }
        pumpStaging()
    }

    /// Competitions a run on the place uses now: live attempts and runs waiting there for their data.
    func dataInUse(on place: String) -> Set<String> {
        var used = Set<String>()
        for id in placeRuns[place] ?? [] {
            if let r = runs[id], r.state.hasLiveAttempt, r.node == place { used.insert(r.spec.competition) }
        }
        for (key, ids) in data.waiters where key.place == place && !ids.isEmpty { used.insert(key.competition) }
        used.formUnion((data.stopping[place] ?? [:]).values)
        return used
    }

    /// Hands out staging jobs while slots are free (per place and per source), each first evicting what the
    /// placement model no longer keeps there and no run uses (never data in use or being staged).
    mutating func pumpStaging() {
        var i = 0
        while i < data.queue.count {
            let key = data.queue[i]
            guard let spec = places[key.place]?.spec, !(data.waiters[key] ?? []).isEmpty else { data.queue.remove(at: i); continue }
            let onPlace = data.active.keys.filter { $0.place == key.place }.count
            let fromSource = data.active.keys.filter { places[$0.place]?.spec.dataSource == spec.dataSource }.count
            guard onPlace < config.maxStagesPerPlace && fromSource < config.maxStagesPerSource else { i += 1; continue }
            data.queue.remove(at: i)
            let model = scheduler.cached(on: key.place)
            let inUse = dataInUse(on: key.place)
            let evict = (data.onDisk[key.place] ?? [:]).keys.filter {
                $0 != key.competition && model[$0] == nil && !inUse.contains($0) && data.active[DataKey(place: key.place, competition: $0)] == nil
            }.sorted()
            for c in evict {
                data.onDisk[key.place]?[c] = nil
                data.ready.remove(DataKey(place: key.place, competition: c))
            }
            let bytes = config.dataBytes[key.competition] ?? 0
            data.onDisk[key.place, default: [:]][key.competition] = bytes
            let job = DataStageJob(place: key.place, competition: key.competition, bytes: bytes, evict: evict)
            data.active[key] = job
            out.append(.stageData(job))
        }
    }

    /// A staging job ended: its waiting runs start (verified data) or go back to the queue (an infra failure each).
    mutating func dataStaged(_ job: DataStageJob, _ outcome: DataStageOutcome, now: Double) {
        let key = DataKey(place: job.place, competition: job.competition)
        guard data.active[key] == job else { return }
        data.active[key] = nil
        let waiting = data.waiters.removeValue(forKey: key) ?? []
        for id in waiting { data.waitingOn[id] = nil }
        switch outcome {
        case .ready(let copied):
            data.ready.insert(key)
            out.append(.record(kind: "data_ready", detail: "\(job.competition) on \(job.place): verified, \(copied) bytes copied"))
            let usable = places[job.place]?.connected == true && !drained.contains(job.place)
            for id in waiting {
                guard let r = runs[id], r.state == .staging, r.node == job.place else { continue }
                if usable {
                    dispatch(r, to: job.place)
                } else {
                    unstage(r, event: .unstage, reason: "node \(job.place) went away while its data was staged", now: now)
                }
            }
        case .failed(let reason, let diskFull):
            data.ready.remove(key)
            let why = "staging \(job.competition)'s public data on \(job.place) failed\(diskFull ? " (disk full)" : ""): \(reason)"
            out.append(.record(kind: "data_stage_failed", detail: why))
            let affected = waiting.compactMap { runs[$0] }.filter { $0.state == .staging && $0.node == job.place }
            out.append(.warn("podium: \(why) — an infrastructure fault, not the agent's; \(affected.count) run(s) requeued"))
            // The model learns the data is gone before the freed resources are offered again.
            schedule(.dataDropped(node: job.place, competition: job.competition), now: now)
            for r in affected { unstage(r, event: .stagingFailed, reason: why, now: now) }
            if diskFull { drain(job.place, reason: "disk full while staging \(job.competition) (lower its data_cache max_bytes or free space)", now: now) }
        }
        pumpStaging()
    }

    /// The run stops waiting for its data: back to pending (at once for `.unstage`, after backoff for a staging
    /// failure, which counts as an infra failure), its resources free again.
    mutating func unstage(_ r: RunRecord, event: RunEvent, reason: String, now: Double) {
        dropStagingWaiter(r.id)
        guard let after = transition(r.id, event, detail: reason) else { return }
        schedule(.released(runID: r.id), now: now)
        if after.state == .pending {
            let delay = event == .unstage ? 0 : config.retryBackoff * Double(1 << max(0, min(after.infraFailures - 1, 6)))
            retryAt.append((now + delay, r.id))
        } else if after.state == .failed {
            out.append(.warn("podium: \(r.spec.label) failed after \(after.infraFailures) infra errors: \(reason)"))
        }
    }

    /// The runs waiting for data on a place that went away (or was drained) go back to the queue, for other places.
    mutating func unstageRuns(on place: String, reason: String, now: Double) {
        let keys = data.waiters.keys.filter { $0.place == place }.sorted { $0.competition < $1.competition }
        for key in keys {
            for id in data.waiters[key] ?? [] {
                if let r = runs[id], r.state == .staging { unstage(r, event: .unstage, reason: reason, now: now) }
            }
            data.waiters[key] = nil
        }
        data.queue.removeAll { $0.place == place }
    }

    mutating func dropStagingWaiter(_ runID: String) {
        guard let key = data.waitingOn.removeValue(forKey: runID) else { return }
        data.waiters[key]?.removeAll { $0 == runID }
        if data.waiters[key]?.isEmpty == true { data.waiters[key] = nil }
    }
}
