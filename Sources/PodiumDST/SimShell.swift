#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodiumCoordinator
import PodiumCore
import PodiumProtocol
import PodiumStore

/// The simulated shell: carries out the instance's directives against the simulated store, places, storage and
/// grading, as `SweepRunner` does against SQLite, sockets and threads.
extension Simulation {
    func execute(_ d: CoordinatorDirective) {
        log("→ \(d)")
        count("directive", d)
        switch d {
        case .persist(let runID, let event, let place, _, _):
            if persistFailArmed {
                persistFailArmed = false
                crash("the state's disk is full at a commit")
                return
            }
            checker.beforePersist(runID, event, self)
            do { _ = try store.apply(event, to: runID, place: place, maxInfraRetries: config.maxInfraRetries, now: now) } catch {
                checker.violate("the state refused \(event) for \(runID): \(error) (memory and durable state disagree)")
            }
        case .record(let kind, _, _, _):
            store.events[kind, default: 0] += 1
        case .recordArtifact(let key, let a):
            store.artifacts[key, default: [:]][a.name] = a
        case .recordGrade(let g):
            checker.onGrade(g, self)
            store.grades[AttemptKey(g.runID, g.epoch), default: [:]][g.artifact] = g
        case .markHandled(let seq, _):
            if let i = store.requests.firstIndex(where: { $0.seq == seq }) { store.requests[i].handled = true }
        case .connect(let place):
            queue.push(.connectDone(place: place, incarnation: incarnation, c: cur), at: now + rng.uniform(0.05, 3))
        case .send(let place, let request):
            down(place, request)
        case .start(let key, let place):
            checker.onStart(key, self)
            guard coordConn[place] != nil, let spec = specs[key.runID] else {
                followUps.append(.startFailed(key, reason: "not connected"))
                return
            }
            let req = StartRequest(runID: key.runID, epoch: key.epoch, sweep: tenant, competition: spec.competition, image: "sim",
                                   command: [], env: [:], dataDir: "/data", budgetSeconds: spec.budget.seconds, graceSeconds: 60,
                                   snapshotIntervalSeconds: 600, cpus: 4, memoryBytes: 16 << 30, shmBytes: 0,
                                   gpus: config.needs[spec.profile]?.resources.gpus ?? 1, network: false)
            down(place, .start(req))
        case .appendLog(let key, let offset, let data):
            store.writeLog(key, offset: offset, data: data)
        case .closeLog:
            break
        case .resetLog(let key):
            store.logs[key] = []
        case .writeChunk(let key, let name, let offset, let data):
            if name == "agent.log" { store.writeLog(key, offset: offset, data: data) } else { store.parts[key, default: [:]][name, default: [:]][offset] = data }
        case .storeFile(let key, let name, let sha, let data):
            later(.storageChecked(key, storeFile(key, name, sha, data)), after: storageDelay())
        case .verifyFile(let key, let name, let sha, let bytes):
            later(.storageChecked(key, verifyFile(key, name, sha, bytes)), after: storageDelay())
        case .grade(let job):
            if store.grades[job.key]?[job.artifact] != nil { checker.violate("\(job.key) \(job.artifact): handed out for grading although its grade is recorded") }
            if grading[job.key, default: []].insert(job.artifact).inserted == false { checker.violate("\(job.key) \(job.artifact): graded twice at once") }
            later(.graded(job, grade(job), summary: "sim"), after: gradingDelay())
        case .validate(let job):
            // Only a live attempt's submission is validated (its answers stay on the coordinator).
            if let r = store.runs[job.key.runID], r.epoch != job.key.epoch || !(r.state == .running || r.state == .dispatched) {
                checker.violate("\(job.key): a submission validated for an attempt that is not live (run is \(r.state) at epoch \(r.epoch))")
            }
            later(.validated(job, ValidationVerdict(valid: true, message: "Submission is valid.", seconds: 0.1)), after: rng.uniform(0.05, 5))
        case .recordValidation:
            store.events["validation", default: 0] += 1
        case .stageData(let job):
            stageData(job)
        case .pollRequests:
            followUps.append(.operatorRequests(store.requests.filter { !$0.handled }.map {
                StateStore.OperatorRequest(seq: $0.seq, runID: $0.runID, kind: $0.kind, at: 0)
            }))
        case .note, .warn:
            break
        case .abort(let message):
            if message.hasPrefix("no node could be reached") {
                crash("no place reachable at start; the operator runs the sweep again later")
            } else {
                checker.violate("the coordinator stopped: \(message)")
            }
        }
    }

    /// Coordinator → place over the open connection, in order.
    func down(_ place: String, _ request: Request) {
        guard let conn = coordConn[place] else { return }
        let at = max(now + rng.uniform(0.001, 0.2), (downArrival[conn] ?? 0) + 0.0001)
        downArrival[conn] = at
        queue.push(.request(place: place, conn: conn, request), at: at)
    }

    func storageDelay() -> Double { rng.chance(0.1) ? rng.uniform(5, 60) : rng.uniform(0.01, 2) }
    func gradingDelay() -> Double {
        if workload != nil { return rng.uniform(1, 30) }
        return rng.chance(0.1) ? rng.uniform(60, 1800) : rng.uniform(0.1, 10)
    }

    // The storage's checks are made when the directive is carried out; what they find is what a storage thread would
    // find then (nothing else writes those files meanwhile), the answer arrives later.

    func storeFile(_ key: AttemptKey, _ name: String, _ sha: String, _ data: Data) -> StorageCheck {
        guard SHA256.hex(Array(data)) == sha else { return .corrupt(name: name, reason: "sha256 differs") }
        var replaced: String?
        if name == "agent.log" {
            if !store.logIsExact(key, bytes: Int64(data.count)) { replaced = "streamed copy differed; replaced" }
            store.logs[key] = data.isEmpty ? [] : [(offset: Int64(0), length: Int64(data.count), source: SimContent.source(of: data))]
        } else {
            store.files[key, default: [:]][name] = data
        }
        return .stored(StoredArtifact(name: name, sha256: sha, bytes: Int64(data.count), path: "\(key)/\(name)", elapsedSeconds: nil),
                       replaced: replaced)
    }

    func verifyFile(_ key: AttemptKey, _ name: String, _ sha: String, _ bytes: Int64) -> StorageCheck {
        let artifact = StoredArtifact(name: name, sha256: sha, bytes: bytes, path: "\(key)/\(name)", elapsedSeconds: nil)
        if name == "agent.log" {
            store.truncateLog(key, to: bytes)
            return store.logIsExact(key, bytes: bytes) ? .verified(artifact) : .logMismatch(centralBytes: store.logLength(key), nodeBytes: bytes)
        }
        let pieces = (store.parts[key]?[name] ?? [:]).sorted { $0.key < $1.key }
        store.parts[key]?[name] = nil
        var data = Data()
        for (offset, piece) in pieces where offset == Int64(data.count) { data.append(contentsOf: piece) }
        guard Int64(data.count) == bytes, SHA256.hex(Array(data)) == sha else { return .corrupt(name: name, reason: "size or sha256 differs") }
        store.files[key, default: [:]][name] = data
        return .verified(artifact)
    }

    /// A grade of what the central copy holds: the score is the epoch whose submission it is (so a grade of another
    /// attempt's file shows).
    func grade(_ job: GradeJob) -> GradeRecord {
        let data = store.files[job.key]?[job.artifact]
        let epoch = data.flatMap(SimContent.submissionEpoch)
        return GradeRecord(runID: job.key.runID, epoch: job.key.epoch, artifact: job.artifact, isFinal: job.isFinal,
                           elapsedSeconds: job.elapsedSeconds, score: epoch.map(Double.init), submissionExists: data != nil,
                           valid: epoch != nil, anyMedal: false, gold: false, silver: false, bronze: false, aboveMedian: epoch != nil,
                           reportJSON: "{}")
    }
}
