import PodiumCore
import PodiumStore

/// Carries out `podium cancel` / `podium retry` requests. With a coordinator running, it does this within a second
/// (it can stop live attempts on their nodes); without one, the command applies what needs no node itself, and a
/// cancel of a live attempt waits for the next `podium sweep`, which adopts the attempt and then stops it.
public enum OperatorRequests {
    public enum Decision: Equatable {
        /// Apply now: the run's state changes without touching a node.
        case cancelPending
        case retry
        /// Stop the live attempt on its node (coordinator only).
        case stopLive
        /// Nothing to do; the request is closed with this reason.
        case close(String)
    }

    public static func decide(_ kind: StateStore.OperatorRequest.Kind, state: RunState) -> Decision {
        switch (kind, state) {
        case (.cancel, .pending), (.cancel, .staging): return .cancelPending
        case (.cancel, .dispatched), (.cancel, .running): return .stopLive
        case (.cancel, .collecting), (.cancel, .grading):
            return .close("not cancelled: the attempt already ended and is being collected/graded")
        case (.cancel, let s): return .close("not cancelled: the run is already \(s.rawValue)")
        case (.retry, .failed), (.retry, .cancelled): return .retry
        case (.retry, .completed):
            return .close("not retried: the run completed (its result stands; every attempt is kept in the state)")
        case (.retry, let s): return .close("not retried: the run is \(s.rawValue), not failed or cancelled")
        }
    }

    /// Without a coordinator: applies the requests that need no node; returns (seq, outcome) of those handled.
    @discardableResult
    public static func applyOffline(store: StateStore, sweep: String, maxInfraRetries: Int) throws -> [(Int64, String)] {
        var handled = [(Int64, String)]()
        for req in try store.openRequests(sweep: sweep) {
            guard let r = try store.run(req.runID) else {
                try store.markHandled(req.seq, outcome: "no such run")
                handled.append((req.seq, "no such run"))
                continue
            }
            let outcome: String
            switch decide(req.kind, state: r.state) {
            case .cancelPending:
                try store.apply(.cancel, to: r.id, detail: "operator cancel", maxInfraRetries: maxInfraRetries)
                outcome = "cancelled (was \(r.state.rawValue))"
            case .retry:
                try store.apply(.retry, to: r.id, detail: "operator retry", maxInfraRetries: maxInfraRetries)
                outcome = "requeued (was \(r.state.rawValue)); `podium sweep` runs it"
            case .stopLive:
                continue  // waits for a coordinator
            case .close(let why):
                outcome = why
            }
            try store.markHandled(req.seq, outcome: outcome)
            handled.append((req.seq, outcome))
        }
        return handled
    }
}
