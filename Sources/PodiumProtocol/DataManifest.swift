import PodiumCore

/// The files of a competition's public data: relative path, size and sha256 of each regular file. The coordinator
/// makes it from its data_dir; a node staging the data (pushed or pulled) keeps only files that match it.
public struct DataManifest: Codable, Sendable, Equatable {
    public struct File: Codable, Sendable, Equatable {
        public var path: String
        public var size: Int64
        public var sha256: String
        public init(path: String, size: Int64, sha256: String) { self.path = path; self.size = size; self.sha256 = sha256 }
    }
    public var files: [File]
    public init(files: [File]) { self.files = files }
    public var totalBytes: Int64 { files.reduce(0) { $0 + $1.size } }

    /// Name of the manifest podium leaves in a staged directory (files it verified, with their hashes).
    public static let fileName = ".podium-manifest.json"
    /// Files a pull verified so far (one "path\tsize\tsha256" line each): a pull interrupted by a crash resumes
    /// without hashing them again.
    public static let journalName = ".podium-verified"

    /// sha256 of the manifest (its files in path order): which version of the data a node holds.
    public var digest: String {
        SHA256.hex(Array(files.map { "\($0.path)\t\($0.size)\t\($0.sha256)\n" }.joined().utf8))
    }
}
