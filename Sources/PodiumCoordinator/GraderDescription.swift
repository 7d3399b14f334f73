import PodiumCore
import PodiumGrading
import PodiumReport

/// Which engine grades a competition, in words for the CLI.
public enum GraderDescription {
    public static func engine(for c: Competition) -> String {
        GraderRegistry.grader(for: c)?.engine ?? "none yet (issue 6)"
    }
}

/// Re-export of the report module's table renderer for the executables.
public typealias TextTableLite = TextTable
