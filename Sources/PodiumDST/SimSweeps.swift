import PodiumCoordinator
import PodiumCore
import PodiumProtocol

/// Several coordinators (issue 27): each sweep's own state and connections, and the current one's seen as the
/// simulation's own (`store`, `instance`, …), so the single-sweep code drives each in turn.
extension Simulation {
    /// One coordinator: its sweep's durable state (which survives its crashes), the instance while it runs, and its
    /// connections.
    struct Sweep {
        var config: CoordinatorInstance.Config
        var store = SimStore()
        var instance: CoordinatorInstance?
        var incarnation = 0
        var coordConn: [String: Int] = [:]
        var tickAt: Double?
        var followUps: [CoordinatorEvent] = []
        var persistFailArmed = false
        var requestSeq: Int64 = 0
        var specs: [String: RunSpec] = [:]
        /// Grade jobs handed out and not answered, by attempt and artifact (of the coordinator now running).
        var grading: [AttemptKey: Set<String>] = [:]
        /// Its id on the daemons, and its fair-share weight.
        var tenant: String
        var share: Double = 1
        var decisions = 0
    }

    struct CachedData {
        var bytes: Int64
        var lastUse: Double
        var users: Int
        var readyAt: Double
    }

    // MARK: the current coordinator's state

    var config: CoordinatorInstance.Config { _read { yield sweeps[cur].config } _modify { yield &sweeps[cur].config } }
    var store: SimStore { _read { yield sweeps[cur].store } _modify { yield &sweeps[cur].store } }
    var instance: CoordinatorInstance? { _read { yield sweeps[cur].instance } _modify { yield &sweeps[cur].instance } }
    var incarnation: Int { _read { yield sweeps[cur].incarnation } _modify { yield &sweeps[cur].incarnation } }
    var coordConn: [String: Int] { _read { yield sweeps[cur].coordConn } _modify { yield &sweeps[cur].coordConn } }
    var tickAt: Double? { _read { yield sweeps[cur].tickAt } _modify { yield &sweeps[cur].tickAt } }
    var followUps: [CoordinatorEvent] { _read { yield sweeps[cur].followUps } _modify { yield &sweeps[cur].followUps } }
    var persistFailArmed: Bool { _read { yield sweeps[cur].persistFailArmed } _modify { yield &sweeps[cur].persistFailArmed } }
    var requestSeq: Int64 { _read { yield sweeps[cur].requestSeq } _modify { yield &sweeps[cur].requestSeq } }
    var specs: [String: RunSpec] { _read { yield sweeps[cur].specs } _modify { yield &sweeps[cur].specs } }
    var grading: [AttemptKey: Set<String>] { _read { yield sweeps[cur].grading } _modify { yield &sweeps[cur].grading } }
    var tenant: String { sweeps[cur].tenant }

    /// Runs `body` as coordinator `c` (events of a place's attempt concern its sweep's coordinator).
    func within<T>(_ c: Int, _ body: () -> T) -> T {
        let saved = cur
        cur = c
        defer { cur = saved }
        return body()
    }

    /// Counts one happening by its kind: the enum case's name ("event.reply", "directive.persist", "fault.crash").
    func count(_ prefix: String, _ x: Any) {
        let m = Mirror(reflecting: x)
        let name = m.displayStyle == .enum ? (m.children.first?.label ?? "\(x)") : "\(type(of: x))"
        kinds[prefix + "." + name, default: 0] += 1
    }

    /// Every run of every sweep terminal.
    var allTerminal: Bool { sweeps.allSatisfy { $0.store.terminal == $0.store.order.count } }
}
