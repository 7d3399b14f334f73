/// Where a run is in its life. Only `RunLifecycle.apply` moves it.
public enum RunState: String, Codable, Sendable, CaseIterable {
    /// `staging`: placed on a node that is getting the competition's public data (issue 18); no attempt exists yet
    /// and the budget has not started.
    case pending, staging, dispatched, running, collecting, grading, completed, failed, cancelled

    public var isTerminal: Bool { self == .completed || self == .failed || self == .cancelled }
    /// States in which an attempt may be live on a node.
    public var hasLiveAttempt: Bool { self == .dispatched || self == .running }
    /// States in which the run is bound to a node (the state's `node` column names it).
    public var holdsNode: Bool { self == .staging || hasLiveAttempt }
}

/// How one attempt ended. Agent failures are results; only infra errors (and lost attempts) are retried.
public enum AttemptOutcome: String, Codable, Sendable, CaseIterable {
    case completed
    case agentError = "agent_error"
    case timedOut = "timed_out"
    case oomKilled = "oom_killed"
    case infraError = "infra_error"
    /// The node stopped answering or the coordinator lost track of it; the attempt is fenced by a higher epoch.
    case lost
    case cancelled
    /// The node refused the start: what it needs did not fit beside other sweeps' attempts there, or fair share held
    /// the room for another sweep. Nothing ran; the run waits again and no retry is spent.
    case nodeBusy = "node_busy"

    /// True when the attempt produced a result to collect and grade.
    public var isResult: Bool {
        switch self {
        case .completed, .agentError, .timedOut, .oomKilled: return true
        case .infraError, .lost, .cancelled, .nodeBusy: return false
        }
    }
}

/// What happens to a run.
public enum RunEvent: Equatable, Sendable, CustomStringConvertible {
    /// Placed on a node that must first get the competition's data (the run waits there in `staging`).
    case stage
    /// The node's data did not arrive (staging failed, the node went away, the coordinator restarted): back to pending.
    case unstage
    /// Staging the node's data failed (an infra fault, never the agent's): counts as an infra failure.
    case stagingFailed
    case dispatch(epoch: Int)
    case started
    case finished(AttemptOutcome)
    case collected
    case graded
    case cancel
    case retry

    public var description: String {
        switch self {
        case .stage: return "stage"
        case .unstage: return "unstage"
        case .stagingFailed: return "staging_failed"
        case .dispatch(let e): return "dispatch(epoch \(e))"
        case .started: return "started"
        case .finished(let o): return "finished(\(o.rawValue))"
        case .collected: return "collected"
        case .graded: return "graded"
        case .cancel: return "cancel"
        case .retry: return "retry"
        }
    }
}

public struct IllegalTransition: Error, Equatable, Sendable, CustomStringConvertible {
    public var from: RunState
    public var event: RunEvent
    public var reason: String
    public var description: String { "illegal run transition: \(event) in state \(from.rawValue) (\(reason))" }
}

/// The run state machine as a pure value: every legal transition is here, everything else throws.
public struct RunLifecycle: Equatable, Sendable {
    public private(set) var state: RunState
    /// Epoch of the newest attempt dispatched; a new dispatch must use a larger one (fencing).
    public private(set) var epoch: Int
    /// Infra errors and lost attempts so far; past `maxInfraRetries` the run fails.
    public private(set) var infraFailures: Int
    public let maxInfraRetries: Int

    public init(state: RunState = .pending, epoch: Int = 0, infraFailures: Int = 0, maxInfraRetries: Int = 3) {
        self.state = state; self.epoch = epoch; self.infraFailures = infraFailures; self.maxInfraRetries = maxInfraRetries
    }

    @discardableResult
    public mutating func apply(_ event: RunEvent) throws(IllegalTransition) -> RunState {
        func illegal(_ why: String) -> IllegalTransition { IllegalTransition(from: state, event: event, reason: why) }
        switch (state, event) {
        case (.pending, .stage):
            state = .staging
        case (.staging, .unstage):
            state = .pending
        case (.staging, .stagingFailed):
            infraFailures += 1
            state = infraFailures > maxInfraRetries ? .failed : .pending
        case (.pending, .dispatch(let e)), (.staging, .dispatch(let e)):
            guard e > epoch else { throw illegal("epoch \(e) is not newer than \(epoch)") }
            epoch = e
            state = .dispatched
        case (.dispatched, .started):
            state = .running
        case (.dispatched, .finished(let outcome)), (.running, .finished(let outcome)):
            switch outcome {
            case .completed, .agentError, .timedOut, .oomKilled:
                guard state == .running else { throw illegal("a result needs a started attempt") }
                state = .collecting
            case .infraError, .lost:
                infraFailures += 1
                state = infraFailures > maxInfraRetries ? .failed : .pending
            case .cancelled:
                state = .cancelled
            case .nodeBusy:
                guard state == .dispatched else { throw illegal("a refused start never ran") }
                state = .pending
            }
        case (.collecting, .collected):
            state = .grading
        case (.collecting, .finished(.lost)):
            // The attempt ended but its node no longer holds its artifacts: nothing to grade, a new attempt runs.
            infraFailures += 1
            state = infraFailures > maxInfraRetries ? .failed : .pending
        case (.grading, .graded):
            state = .completed
        case (.pending, .cancel), (.staging, .cancel), (.dispatched, .cancel), (.running, .cancel):
            state = .cancelled
        case (.failed, .retry), (.cancelled, .retry):
            infraFailures = 0
            state = .pending
        default:
            throw illegal("not a transition of the run state machine")
        }
        return state
    }
}
