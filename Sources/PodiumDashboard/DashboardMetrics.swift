import Foundation
import Prometheus
import PodiumCore
import PodiumStore

/// `/metrics`: the state as Prometheus series (swift-prometheus), brought up to date from the state at each scrape.
/// Gauges are set to what the state says now; counters and histograms take what the state added since the last scrape
/// (on the first scrape, everything the state holds), so they only ever grow, as Prometheus expects.
/// The HTTP server's own request metrics (swift-metrics, Hummingbird's MetricsMiddleware) go to the same registry.
public final class DashboardMetrics: @unchecked Sendable {
    public let registry: PrometheusCollectorRegistry
    private let lock = NSLock()
    private var gauges: [String: Gauge] = [:]
    private var counters: [String: Counter] = [:]
    private var counted: [String: Int64] = [:]
    private var histograms: [String: ValueHistogram] = [:]
    private var observedDispatch = Set<String>()
    private var observedGrading = Set<String>()

    /// The series every scrape has (each documented in the README).
    public static let documented = [
        "podium_runs", "podium_runs_total", "podium_attempts_total", "podium_live_attempts", "podium_nodes_up", "podium_node_up",
        "podium_coordinator_running", "podium_dispatch_latency_seconds", "podium_grading_seconds", "podium_log_bytes_total",
        "podium_gpu_hours_used", "podium_cpu_hours_used",
    ]

    static let latencyBuckets: [Double] = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800]
    static let gradingBuckets: [Double] = [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) { self.registry = registry }

    private func gauge(_ name: String, _ help: String, _ labels: [(String, String)]) -> Gauge {
        let key = name + labels.map { "|\($0.0)=\($0.1)" }.joined()
        if let g = gauges[key] { return g }
        let g = registry.makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
        gauges[key] = g
        return g
    }

    /// Raises a counter to `total` (the state's count), never lowering it.
    private func count(_ name: String, _ help: String, _ labels: [(String, String)], to total: Int64) {
        let key = name + labels.map { "|\($0.0)=\($0.1)" }.joined()
        let c = counters[key] ?? registry.makeCounter(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
        counters[key] = c
        let delta = total - (counted[key] ?? 0)
        if delta > 0 { c.increment(by: delta); counted[key] = total }
    }

    private func histogram(_ name: String, _ help: String, _ labels: [(String, String)], _ buckets: [Double]) -> ValueHistogram {
        let key = name + labels.map { "|\($0.0)=\($0.1)" }.joined()
        if let h = histograms[key] { return h }
        let h = registry.makeValueHistogram(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels,
                                            buckets: buckets)
        histograms[key] = h
        return h
    }

    /// Brings every series up to the state's sweeps and returns the exposition text.
    public func scrape(_ state: DashboardState) throws -> String {
        let sweeps = try state.sweeps()
        let nodeEvents = try state.nodeEvents()
        let times = try sweeps.map { ($0.name, try state.store.gradingTimes(sweep: $0.name)) }
        lock.lock(); defer { lock.unlock() }
        var anyCoordinator = false
        for v in sweeps {
            let o = v.overview
            for s in RunState.allCases {
                gauge("podium_runs", "Runs by state, per sweep (what `podium status` counts).", [("state", s.rawValue), ("sweep", v.name)])
                    .set(to: Double(o.runs[s.rawValue] ?? 0))
            }
            gauge("podium_runs_total", "Runs in the sweep's grid.", [("sweep", v.name)]).set(to: Double(o.runs_total))
            gauge("podium_coordinator_running", "1 while a coordinator (podium sweep) holds the state.", [("sweep", v.name)])
                .set(to: o.coordinator_running ? 1 : 0)
            anyCoordinator = anyCoordinator || o.coordinator_running
            gauge("podium_gpu_hours_used", "GPU-hours spent by ended attempts (elapsed × the profile's GPUs).", [("sweep", v.name)]).set(to: o.gpu_hours_used)
            gauge("podium_cpu_hours_used", "CPU-hours spent by ended attempts.", [("sweep", v.name)]).set(to: o.cpu_hours_used)
            var outcomes = [String: Int64]()
            var logBytes: Int64 = 0
            for a in v.attempts {
                if let o = a.outcome { outcomes[o.rawValue, default: 0] += 1 }
                logBytes += a.logBytes
            }
            for o in AttemptOutcome.allCases {
                count("podium_attempts_total", "Attempts that ended, by outcome.", [("outcome", o.rawValue), ("sweep", v.name)], to: outcomes[o.rawValue] ?? 0)
            }
            count("podium_log_bytes_total", "Agent log bytes received centrally.", [("sweep", v.name)], to: logBytes)
            let dispatch = histogram("podium_dispatch_latency_seconds", "From dispatch to the agent's start, per attempt.", [("sweep", v.name)], Self.latencyBuckets)
            for a in v.attempts {
                guard let started = a.startedAt else { continue }
                let key = "\(a.runID)/\(a.epoch)"
                if observedDispatch.insert(key).inserted { dispatch.record(max(0, started - a.dispatchedAt)) }
            }
        }
        for (name, list) in times {
            let h = histogram("podium_grading_seconds", "The coordinator's grader time per graded submission (final and snapshots).", [("sweep", name)], Self.gradingBuckets)
            for t in list where observedGrading.insert(t.key).inserted { h.record(t.seconds) }
        }
        // Live attempts and up/down per node (a node counts as up only while a coordinator runs and its last event was up).
        var live = [String: Int]()
        for v in sweeps { for r in v.runs where r.state.hasLiveAttempt { live[r.node ?? "?", default: 0] += 1 } }
        var names = Set(live.keys).union(nodeEvents.keys)
        for v in sweeps { for n in (v.inventoryPath.flatMap { try? Inventory.load(path: $0) }?.nodes ?? []) { names.insert(n.name) } }
        var up = 0
        for n in names.sorted() {
            gauge("podium_live_attempts", "Attempts live (dispatched or running) on each node.", [("node", n)]).set(to: Double(live[n] ?? 0))
            let isUp = anyCoordinator && nodeEvents[n]?.kind == "node_up"
            gauge("podium_node_up", "1 when the coordinator's last word on the node is that it is up.", [("node", n)]).set(to: isUp ? 1 : 0)
            if isUp { up += 1 }
        }
        gauge("podium_nodes_up", "Nodes up (a coordinator runs and reached them).", []).set(to: Double(up))
        return registry.emitToString()
    }
}
