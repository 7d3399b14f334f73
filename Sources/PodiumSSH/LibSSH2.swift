internal import CLibSSH2

/// The libssh2 library podium links against.
public enum LibSSH2 {
    private static let initialized: Int32 = libssh2_init(0)

    /// Version string of the linked libssh2, e.g. "1.10.0"; nil if the library failed to initialise.
    public static var version: String? {
        guard initialized == 0, let v = libssh2_version(0) else { return nil }
        return String(cString: v)
    }
}
