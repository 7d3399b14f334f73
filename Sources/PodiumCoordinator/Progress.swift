import PodiumCore
import PodiumSystem

/// Progress of a sweep: counts, rate and ETA, redrawn in place on a TTY, plain lines every 15 s otherwise.
/// Notes may come from other threads than the loop's (staging runs on the connector's), so every call holds a lock.
final class Progress: @unchecked Sendable {
    private let lock = Locked(())
    let enabled: Bool
    let tty = stderrIsTTY
    var total = 0
    var started = 0.0
    var startDone = 0
    var lastPlain = 0.0
    var lastLine = ""
    /// The packing ETA `podium status` shows (hours from `etaAt`), refreshed by the loop every few seconds.
    var etaHours: Double?
    var etaAt = 0.0

    init(enabled: Bool) { self.enabled = enabled }

    /// `done`: runs already finished by earlier invocations (the rate counts this one's only).
    func start(total: Int, done: Int) {
        self.total = total
        startDone = done
        started = monotonicSeconds()
        lastPlain = 0
    }

    func setETA(hours: Double?) { lock.withLock { _ in etaHours = hours; etaAt = monotonicSeconds() } }

    func update(counts: [RunState: Int]) {
        guard enabled else { return }
        lock.withLock { _ in draw(counts) }
    }

    private func draw(_ counts: [RunState: Int]) {
        let done = RunState.allCases.filter(\.isTerminal).reduce(0) { $0 + (counts[$1] ?? 0) }
        let elapsed = monotonicSeconds() - started
        let newlyDone = done - startDone
        let rate = elapsed > 0 ? Double(newlyDone) / elapsed * 60 : 0
        // The same estimate as `podium status` (live attempts keep their slots for the rest of their budget, pending runs
        // packed longest first): an upper bound that moves only as runs end, not with the recent rate.
        let eta = etaHours.map { max(0, $0 * 3600 - (monotonicSeconds() - etaAt)) }
        let live = (counts[.dispatched] ?? 0) + (counts[.running] ?? 0)
        let staging = counts[.staging] ?? 0
        let line = "[\(done)/\(total) done] running \(live), \(staging > 0 ? "staging data \(staging), " : "")pending \(counts[.pending] ?? 0), collecting \((counts[.collecting] ?? 0) + (counts[.grading] ?? 0)), failed \(counts[.failed] ?? 0) · \(fmt(rate)) runs/min · elapsed \(clock(elapsed)) · ETA \(done == total ? "done" : eta.map(clock) ?? "?")"
        if tty {
            if line != lastLine { printErrorRaw("\r\u{1b}[2K" + line); lastLine = line }
        } else if monotonicSeconds() - lastPlain >= 15 || (done == total && line != lastLine) {
            printError(line)
            lastPlain = monotonicSeconds()
            lastLine = line
        }
    }

    /// A line that stays (graded results): clears the redrawn line first on a TTY.
    func note(_ s: String) {
        guard enabled else { return }
        say(s)
    }

    /// A warning: always printed (progress on or off), never onto the end of the redrawn line.
    func warn(_ s: String) {
        guard enabled else { printError(s); return }
        say(s)
    }

    private func say(_ s: String) {
        lock.withLock { _ in
            if tty { printErrorRaw("\r\u{1b}[2K" + s + "\n"); if !lastLine.isEmpty { printErrorRaw(lastLine) } } else { printError(s) }
        }
    }

    func finish() {
        if enabled && tty && !lastLine.isEmpty { printErrorRaw("\n") }
    }

    private func fmt(_ x: Double) -> String { String(Double(Int(x * 10)) / 10) }

    private func clock(_ s: Double) -> String {
        let t = Int(s)
        return t >= 3600 ? "\(t / 3600)h\(t / 60 % 60)m" : t >= 60 ? "\(t / 60)m\(t % 60)s" : "\(t)s"
    }
}
