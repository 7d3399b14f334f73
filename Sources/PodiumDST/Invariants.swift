import PodiumCoordinator
import PodiumCore
import PodiumStore

/// What must hold after every step of a simulation, and at its end:
/// - no run lost: every run ends terminal, and the instance's memory agrees with the durable state;
/// - at most one live unfenced attempt per run: an attempt of an older epoch, or of a run already finished, does not
///   go on running on a connected place (the run executed twice);
/// - every completed run graded exactly once, on its own attempt's submission;
/// - epochs increase, and an attempt's recorded outcome is what its place really reported;
/// - no start request of one attempt is sent twice, the state never refuses a transition;
/// - every placement the scheduler made is carried out (the run stages or has an attempt);
/// - with several coordinators on the same places (issue 27): none ever cancels, streams, collects or deletes another
///   sweep's attempt (the place reports it), a place never runs more than its GPUs, and over long schedules each sweep's
///   share of contended GPU-seconds stays near its entitlement.
struct Invariants {
    var violations: [String] = []
    /// How each attempt really ended, as its place reported it.
    var truth: [AttemptKey: AttemptOutcome] = [:]
    var starts: [AttemptKey: Int] = [:]
    var finalGrades: [AttemptKey: Int] = [:]
    /// Stale attempts seen running on a place that is connected, since when.
    var staleSince: [AttemptKey: Double] = [:]
    /// How long a connected place may keep running a fenced attempt (cancel messages in flight, reconciliation).
    let fenceGrace = 300.0

    mutating func violate(_ s: String) { if violations.count < 20 { violations.append(s) } }

    mutating func beforePersist(_ runID: String, _ event: RunEvent, _ sim: Simulation) {
        guard let r = sim.store.runs[runID] else { return violate("a transition for a run the state does not have: \(runID)") }
        switch event {
        case .dispatch(let e):
            if e <= r.epoch { violate("\(runID): dispatch of epoch \(e) after epoch \(r.epoch) (epochs must increase)") }
        case .finished(let o) where o.isResult:
            let key = AttemptKey(runID, r.epoch)
            if truth[key] != o {
                violate("\(runID): outcome \(o.rawValue) recorded for epoch \(r.epoch), but that attempt \(truth[key].map { "ended \($0.rawValue)" } ?? "has not ended") on its place")
            }
        default:
            break
        }
    }

    mutating func onStart(_ key: AttemptKey, _ sim: Simulation) {
        starts[key, default: 0] += 1
        if starts[key]! > 1 { violate("\(key): its start request was sent \(starts[key]!) times") }
    }

    mutating func onGrade(_ g: GradeRecord, _ sim: Simulation) {
        let key = AttemptKey(g.runID, g.epoch)
        if sim.store.grades[key]?[g.artifact] != nil { violate("\(key) \(g.artifact): graded twice") }
        if g.isFinal {
            finalGrades[key, default: 0] += 1
            if let s = g.score, Int(s) != g.epoch { violate("\(key): the final grade is of epoch \(Int(s))'s submission") }
        }
    }

    mutating func check(_ sim: Simulation) {
        if let i = sim.instance {
            for (id, r) in sim.store.runs {
                guard let m = i.runs[id] else { violate("run \(id) missing from the coordinator's memory"); continue }
                if m.state != r.state || m.epoch != r.epoch {
                    violate("\(id): memory says \(m.state.rawValue) epoch \(m.epoch), the state says \(r.state.rawValue) epoch \(r.epoch)")
                }
            }
            // A run the scheduler holds resources for is one the instance acted on: waiting for its data or an attempt.
            for (id, p) in i.scheduler.placed {
                guard let m = i.runs[id], m.state == .staging || m.state.hasLiveAttempt else {
                    violate("\(id): the scheduler placed it on \(p.node), but the run is \(i.runs[id]?.state.rawValue ?? "unknown"): never dispatched")
                    continue
                }
            }
        }
        for p in sim.places.values where !p.dead {
            let conn = p.conns[sim.cur]
            let connected = conn != nil && sim.coordConn[p.name] == conn && sim.instance != nil
            for a in p.attempts.values where a.running && sim.runOwner[a.key.runID] == sim.cur {
                guard let r = sim.store.runs[a.key.runID] else { continue }
                let stale = a.key.epoch < r.epoch || (a.key.epoch == r.epoch && (r.state.isTerminal || r.state == .pending))
                guard stale, connected, let since = p.connectedSince, sim.now - since > fenceGrace else {
                    staleSince[a.key] = nil
                    continue
                }
                let first = staleSince[a.key] ?? sim.now
                staleSince[a.key] = first
                if sim.now - first > fenceGrace {
                    violate("\(a.key) still runs on \(p.name) while the run is \(r.state.rawValue) at epoch \(r.epoch): executed twice")
                }
            }
        }
    }

    /// GPU-seconds each sweep held while it competed for a full place with others that had runs waiting, and what
    /// its weight entitled it to then.
    var heldContended: [Int: Double] = [:]
    var entitledContended: [Int: Double] = [:]
    var contendedSeconds = 0.0
    var fairnessDeviation = 0.0
    var lastPlaceCheck = 0.0

    /// After every step, across coordinators: no place runs more than its GPUs; fair-share accounting.
    mutating func checkPlaces(_ sim: Simulation) {
        let dt = sim.now - lastPlaceCheck
        lastPlaceCheck = sim.now
        for p in sim.places.values where !p.dead {
            if p.usedGPUs > p.gpus { violate("\(p.name) runs attempts holding \(p.usedGPUs) GPUs; it has \(p.gpus)") }
            guard sim.sweeps.count > 1, dt > 0, p.gpus > 0, p.usedGPUs >= p.gpus else { continue }
            let contending = sim.sweeps.indices.filter { c in
                let t = p.ledger.tenants[sim.sweeps[c].tenant]
                return t?.connected == true && (t?.waiting ?? 0) > 0
            }
            guard contending.count >= 2 else { continue }
            let weights = contending.reduce(0.0) { $0 + sim.sweeps[$1].share }
            contendedSeconds += dt
            for c in contending {
                let held = p.attempts.values.filter { $0.running && sim.runOwner[$0.key.runID] == c }.reduce(0) { $0 + $1.gpus }
                heldContended[c, default: 0] += Double(held) * dt
                entitledContended[c, default: 0] += Double(p.gpus) * sim.sweeps[c].share / weights * dt
            }
        }
    }

    /// Over a long enough contended stretch (50 place-hours), every sweep's share of the contended GPU-seconds is
    /// within 0.25 of its entitlement (attempts of 1–4 h on places of 1–4 GPUs, never pre-empted, come in lumps).
    mutating func checkFairness(_ sim: Simulation) {
        let total = entitledContended.values.reduce(0, +)
        guard total > 0 else { return }
        for (c, e) in entitledContended {
            fairnessDeviation = max(fairnessDeviation, abs((heldContended[c] ?? 0) - e) / total)
        }
        if contendedSeconds >= 50 * 3600 && fairnessDeviation > 0.25 {
            let each = sim.sweeps.indices.map { c in
                String(format: "%@ (share %g) held %.0f GPU-h, entitled %.0f", sim.sweeps[c].config.sweep, sim.sweeps[c].share,
                       (heldContended[c] ?? 0) / 3600, (entitledContended[c] ?? 0) / 3600)
            }.joined(separator: "; ")
            violate(String(format: "unfair share: a sweep's contended GPU-seconds are %.2f of the total away from its entitlement over %.0f contended place-hours: ",
                           fairnessDeviation, contendedSeconds / 3600) + each)
        }
    }

    mutating func checkEnd(_ sim: Simulation) {
        for id in sim.store.order {
            let r = sim.store.runs[id]!
            guard r.state.isTerminal else {
                violate("\(id) (\(r.spec.label)) is lost: still \(r.state.rawValue) at epoch \(r.epoch) after \(Int(sim.now / 3600)) h")
                continue
            }
            if r.state == .completed {
                let key = AttemptKey(id, r.epoch)
                let n = finalGrades[key] ?? 0
                if n != 1 { violate("\(key): completed with \(n) final grades") }
            }
        }
    }
}
