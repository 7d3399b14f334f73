import PodiumCore
import PodiumGrading

/// Which engine grades a competition, in words for the CLI.
public enum GraderDescription {
    public static func engine(for c: Competition) -> String {
        GraderRegistry.grader(for: c)?.engine ?? "none yet (issue 6)"
    }
}
