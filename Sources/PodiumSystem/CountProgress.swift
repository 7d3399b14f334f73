/// Progress of a counted batch (grading, transfers): done/total, rate and ETA redrawn in place on a TTY,
/// a plain line every 10 s otherwise.
public final class CountProgress: @unchecked Sendable {
    let total: Int
    let label: String
    let tty = stderrIsTTY
    let started = monotonicSeconds()
    var done = 0
    var lastPlain = monotonicSeconds()
    var drew = false

    public init(total: Int, label: String) {
        self.total = total
        self.label = label
    }

    public func advance(by n: Int = 1) {
        done += n
        let elapsed = monotonicSeconds() - started
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let line = "[\(done)/\(total) \(label)] \(String(Double(Int(rate * 10)) / 10))/s · ETA \(Int(eta.rounded()))s"
        if tty {
            printErrorRaw("\r\u{1b}[2K" + line)
            drew = true
        } else if monotonicSeconds() - lastPlain >= 10 {
            printError(line)
            lastPlain = monotonicSeconds()
        }
    }

    public func finish() {
        if drew { printErrorRaw("\n") }
    }
}
