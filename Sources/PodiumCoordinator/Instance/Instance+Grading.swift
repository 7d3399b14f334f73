import PodiumCore
import PodiumProtocol
import PodiumScheduler
import PodiumStore

/// Grading decisions (what to grade, when a run is complete) and operator requests.
extension CoordinatorInstance {
    static let finalSubmission = "submission/submission.csv"

    /// Hands out the attempt's submissions not graded yet: its final one (`finalToo`) and every snapshot. Grading
    /// itself runs off the loop; each answer comes back as `.graded`.
    mutating func gradeAttempt(_ r: RunRecord, finalToo: Bool) {
        let key = AttemptKey(r.id, r.epoch)
        let done = gradedArtifacts[key] ?? []
        if finalToo {
            if done.contains(Self.finalSubmission) {
                // Graded before a restart, not yet marked: the grade stands, it is not made twice.
                transition(r.id, .graded, detail: nil)
            } else {
                handOut(GradeJob(key: key, competition: r.spec.competition, artifact: Self.finalSubmission, isFinal: true, elapsedSeconds: nil))
            }
        }
        for a in (artifacts[key] ?? []).sorted(by: { $0.name < $1.name }) where a.name.hasPrefix("snapshots/") && !done.contains(a.name) {
            handOut(GradeJob(key: key, competition: r.spec.competition, artifact: a.name, isFinal: false, elapsedSeconds: a.elapsedSeconds))
        }
    }

    mutating func handOut(_ job: GradeJob) {
        guard gradesOutstanding.insert(job).inserted else { return }
        out.append(.grade(job))
    }

    /// A grade is recorded once; the final one completes the run (snapshots only place the run in time).
    mutating func graded(_ job: GradeJob, _ record: GradeRecord, summary: String, now: Double) {
        guard gradesOutstanding.remove(job) != nil else { return }
        guard gradedArtifacts[job.key, default: []].insert(job.artifact).inserted else { return }
        out.append(.recordGrade(record))
        guard job.isFinal, let r = runs[job.key.runID], r.epoch == job.key.epoch, r.state == .grading else { return }
        out.append(.note("graded \(r.spec.label): \(summary)"))
        transition(r.id, .graded, detail: nil)
    }

    /// `podium cancel` / `podium retry` requests written to the state by other processes. Pending runs are dropped
    /// before live attempts are stopped, so a freed slot never goes to a run that the same batch cancels.
    mutating func handleRequests(_ open: [OperatorRequest], now: Double) {
        let waiting: (OperatorRequest) -> Bool = { [runs] in runs[$0.runID].map { $0.state == .pending || $0.state == .staging } ?? false }
        let ordered = open.filter(waiting) + open.filter { !waiting($0) }
        for req in ordered {
            guard let r = runs[req.runID] else {
                out.append(.markHandled(seq: req.seq, outcome: "no such run in sweep \(config.sweep)"))
                continue
            }
            let outcome: String
            switch OperatorRequests.decide(req.kind, state: r.state) {
            case .cancelPending:
                let wasStaging = r.state == .staging
                transition(r.id, .cancel, detail: "operator cancel")
                retryAt.removeAll { $0.runID == r.id }
                if wasStaging {
                    dropStagingWaiter(r.id)
                    schedule(.released(runID: r.id), now: now)
                } else {
                    schedule(.cancel(runID: r.id), now: now)
                }
                outcome = "cancelled (was \(wasStaging ? "staging" : "pending"))"
            case .stopLive:
                let name = r.node ?? attemptPlace[r.id] ?? "?"
                let reachable = places[name]?.connected == true
                if reachable {
                    data.stopping[name, default: [:]][AttemptKey(r.id, r.epoch)] = r.spec.competition
                    out.append(.send(place: name, .cancel(runID: r.id, epoch: r.epoch)))
                }
                finishAttempt(r, outcome: .cancelled, result: nil, detail: "operator cancel; attempt \(r.epoch) stopped on \(name)", now: now)
                outcome = reachable
                    ? "cancelled; attempt \(r.epoch) stopped on \(name)"
                    : "cancelled; node \(name) is unreachable, its attempt is fenced when it returns"
            case .retry:
                guard let after = transition(r.id, .retry, detail: "operator retry") else { continue }
                schedule(.enqueue([queued(after)]), now: now)
                outcome = "requeued (was \(r.state.rawValue))"
            case .close(let why):
                outcome = why
            }
            out.append(.markHandled(seq: req.seq, outcome: outcome))
            out.append(.note("operator \(req.kind.rawValue) \(r.spec.label): \(outcome)"))
        }
    }
}
