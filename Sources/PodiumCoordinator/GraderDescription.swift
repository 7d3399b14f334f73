import PodiumCore
import PodiumGrading

/// Which engine grades a competition, in words, for the CLI (`podium competitions`, `podium sweep`'s warnings).
public enum GraderDescription {
    public static func engine(for c: Competition) -> String {
        GraderRegistry.engine(for: c, bridge: MLEBenchBridge.locate())
    }
}
