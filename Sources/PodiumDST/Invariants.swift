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
/// - every placement the scheduler made is carried out (the run stages or has an attempt).
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
            let connected = p.conn != nil && sim.coordConn[p.name] == p.conn && sim.instance != nil
            for a in p.attempts.values where a.running {
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
