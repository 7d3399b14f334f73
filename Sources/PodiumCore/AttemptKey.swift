/// One attempt of a run: the run id and the epoch its dispatch was given. Everything the coordinator keeps per attempt
/// (central log, artifacts, grades, collection progress) is keyed by it.
public struct AttemptKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var runID: String
    public var epoch: Int

    public init(_ runID: String, _ epoch: Int) { self.runID = runID; self.epoch = epoch }

    /// `run#epoch`, the form the events table and messages show.
    public var description: String { "\(runID)#\(epoch)" }

    public static func < (a: Self, b: Self) -> Bool { (a.runID, a.epoch) < (b.runID, b.epoch) }
}
