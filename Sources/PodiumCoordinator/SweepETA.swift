import PodiumCore
import PodiumReport
import PodiumStore

/// When the sweep should finish if every run used its whole budget (an upper estimate: agents often stop early).
/// Live attempts keep their slots for the rest of their budget; pending runs go longest first to the slot that frees
/// first, with as many slots as attempts are live now (the parallelism the nodes have shown).
public struct SweepETA: Codable, Sendable, Equatable {
    public var remainingRuns: Int
    public var liveAttempts: Int
    public var remainingBudgetHours: Double
    /// Hours from now; nil when runs remain but none is live (no coordinator running, or all nodes down).
    public var etaHours: Double?

    enum CodingKeys: String, CodingKey {
        case remainingRuns = "remaining_runs"
        case liveAttempts = "live_attempts"
        case remainingBudgetHours = "remaining_budget_hours"
        case etaHours = "eta_hours"
    }

    public init(runs: [RunRecord], attempts: [AttemptRecord], now: Double) {
        let started = Dictionary(attempts.map { ($0.key, $0.startedAt ?? $0.dispatchedAt) }, uniquingKeysWith: { a, _ in a })
        var slots = [Double]()
        var pending = [Double]()
        for r in runs where !r.state.isTerminal {
            let budget = Double(r.spec.budget.seconds)
            if r.state.hasLiveAttempt {
                let since = started[r.key] ?? now
                slots.append(max(0, budget - (now - since)))
            } else if r.state == .pending || r.state == .staging {
                pending.append(budget)
            }
        }
        remainingRuns = runs.filter { !$0.state.isTerminal }.count
        liveAttempts = slots.count
        remainingBudgetHours = (slots.reduce(0, +) + pending.reduce(0, +)) / 3600
        guard remainingRuns > 0 else { etaHours = 0; return }
        guard !slots.isEmpty else { etaHours = nil; return }
        // Longest-first onto the earliest-free slot (a binary heap would do for huge sweeps; slots are few).
        for p in pending.sorted(by: >) {
            let i = slots.indices.min { slots[$0] < slots[$1] }!
            slots[i] += p
        }
        etaHours = (slots.max() ?? 0) / 3600
    }

    public var line: String {
        guard remainingRuns > 0 else { return "ETA: done" }
        guard let h = etaHours else {
            return "ETA: unknown — \(remainingRuns) runs remain and none is live (start `podium sweep` to resume)"
        }
        let t = h >= 1 ? "\(fixed(h, 1)) h" : h * 60 >= 1 ? "\(Int((h * 60).rounded())) min" : "1 min"
        return "ETA: ≤ \(t) (\(remainingRuns) runs left, \(liveAttempts) live; \(fixed(remainingBudgetHours, 1)) budget-hours remain; assumes full budgets)"
    }
}
