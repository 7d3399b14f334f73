import PodiumCore

/// One dispatch of a run.
public struct AttemptRecord: Sendable, Equatable {
    public var runID: String
    public var epoch: Int
    public var node: String
    public var outcome: AttemptOutcome?
    public var exitCode: Int?
    public var elapsedSeconds: Double?
    public var message: String?
    public var logBytes: Int64
    /// Wall-clock seconds (Unix time) when the attempt was dispatched / started; nil until it started.
    public var dispatchedAt: Double = 0
    public var startedAt: Double?
    public var imageDigest: String?
    public var gpuModel: String?
    public var gpuIDs: [String] = []
    /// The sweep configuration version and the podium that dispatched the attempt (nil in states from before them).
    public var configVersion: Int?
    public var podiumVersion: String?

    public init(runID: String, epoch: Int, node: String, outcome: AttemptOutcome?, exitCode: Int?, elapsedSeconds: Double?,
                message: String?, logBytes: Int64, dispatchedAt: Double = 0, startedAt: Double? = nil,
                imageDigest: String? = nil, gpuModel: String? = nil, gpuIDs: [String] = [], configVersion: Int? = nil,
                podiumVersion: String? = nil) {
        self.configVersion = configVersion; self.podiumVersion = podiumVersion
        self.imageDigest = imageDigest; self.gpuModel = gpuModel; self.gpuIDs = gpuIDs
        self.runID = runID; self.epoch = epoch; self.node = node; self.outcome = outcome; self.exitCode = exitCode
        self.elapsedSeconds = elapsedSeconds; self.message = message; self.logBytes = logBytes
        self.dispatchedAt = dispatchedAt; self.startedAt = startedAt
    }
}
