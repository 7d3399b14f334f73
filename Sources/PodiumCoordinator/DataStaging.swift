#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import PodiumCore
import PodiumSSH

/// The files of a competition's public data: relative path, size and sha256 of each regular file.
public struct DataManifest: Codable, Sendable, Equatable {
    public struct File: Codable, Sendable, Equatable {
        public var path: String
        public var size: Int64
        public var sha256: String
    }
    public var files: [File]
    public var totalBytes: Int64 { files.reduce(0) { $0 + $1.size } }

    /// Name of the manifest podium leaves in a staged directory (files it verified, with their hashes).
    public static let fileName = ".podium-manifest.json"

    /// Walks `dir` (following symlinks to files, as `mlebench prepare` may leave them) and hashes every file; hashes
    /// are cached in `cacheFile` by (path, size, mtime) so a second sweep does not read the data again.
    public static func of(directory dir: String, cacheFile: String?) throws -> DataManifest {
        struct Cached: Codable { var size: Int64; var mtime: Double; var sha256: String }
        var cache = [String: Cached]()
        if let cacheFile, let data = FileManager.default.contents(atPath: cacheFile) {
            cache = (try? JSONDecoder().decode([String: Cached].self, from: data)) ?? [:]
        }
        guard let paths = FileManager.default.enumerator(atPath: dir) else {
            throw IOFailure(description: "cannot read the public data directory \(dir)")
        }
        var files = [File]()
        var changed = false
        while let rel = paths.nextObject() as? String {
            let full = dir + "/" + rel
            var st = stat()
            guard stat(full, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, rel != fileName else { continue }
            let size = Int64(st.st_size), mtime = Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9
            let key = full
            if let c = cache[key], c.size == size, c.mtime == mtime {
                files.append(File(path: rel, size: size, sha256: c.sha256))
                continue
            }
            guard let sha = SHA256.hex(fileAt: full) else { throw IOFailure(description: "cannot read \(full)") }
            cache[key] = Cached(size: size, mtime: mtime, sha256: sha)
            changed = true
            files.append(File(path: rel, size: size, sha256: sha))
        }
        if changed, let cacheFile, let data = try? JSONEncoder().encode(cache) {
            try? FileManager.default.createDirectory(atPath: directoryOf(cacheFile), withIntermediateDirectories: true)
            try? data.withUnsafeBytes { try writeFileDurably(cacheFile, $0) }
        }
        return DataManifest(files: files.sorted { $0.path < $1.path })
    }
}

/// File operations on a node's data directory: over SSH (shell tools on the node) or on this machine.
public protocol NodeFiles {
    /// Regular files under `dir` → size (empty when the directory does not exist).
    func list(_ dir: String) throws -> [String: Int64]
    func readManifest(_ dir: String) -> DataManifest?
    func writeManifest(_ dir: String, _ m: DataManifest) throws
    /// sha256 of the given files under `dir`.
    func sha256(_ dir: String, _ paths: [String]) throws -> [String: String]
    /// Copies a local file there (verified, creating parent directories).
    func put(local: String, remote: String) throws
}

/// What one staging pass did.
public struct StagingResult: Sendable, Equatable {
    public var files: Int
    public var bytes: Int64
    public var pushedFiles: Int
    public var pushedBytes: Int64
    public var hashedOnNode: Int
}

public enum DataStaging {
    /// Makes `remoteDir` on the node hold exactly the manifest's files (extra files are left alone): files whose size
    /// and recorded hash match are trusted, files of the right size the node has no record of are hashed there, and
    /// everything else is pushed (sha256-verified). The node's manifest is written last, so an interrupted staging is
    /// simply checked again next time.
    public static func stage(manifest: DataManifest, localDir: String, remoteDir: String, node: NodeFiles,
                             progress: ((Int64, Int64) -> Void)? = nil) throws -> StagingResult {
        let present = try node.list(remoteDir)
        let recorded = Dictionary((node.readManifest(remoteDir)?.files ?? []).map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        var push = [DataManifest.File]()
        var unknown = [DataManifest.File]()
        for f in manifest.files {
            guard present[f.path] == f.size else { push.append(f); continue }
            if let r = recorded[f.path], r.size == f.size, r.sha256 == f.sha256 { continue }
            unknown.append(f)
        }
        if !unknown.isEmpty {
            let sums = try node.sha256(remoteDir, unknown.map(\.path))
            for f in unknown where sums[f.path] != f.sha256 { push.append(f) }
        }
        let total = push.reduce(Int64(0)) { $0 + $1.size }
        var sent: Int64 = 0
        for f in push {
            try node.put(local: localDir + "/" + f.path, remote: remoteDir + "/" + f.path)
            sent += f.size
            progress?(sent, total)
        }
        if !push.isEmpty || !unknown.isEmpty || recorded.count != manifest.files.count {
            try node.writeManifest(remoteDir, manifest)
        }
        return StagingResult(files: manifest.files.count, bytes: manifest.totalBytes, pushedFiles: push.count, pushedBytes: total,
                             hashedOnNode: unknown.count)
    }
}

/// A node reached over SSH: GNU find, openssl or sha256sum, mkdir and cat on the node.
public struct SSHNodeFiles: NodeFiles {
    let session: SSHSession
    public init(session: SSHSession) { self.session = session }

    public func list(_ dir: String) throws -> [String: Int64] {
        let (status, out) = try session.run("[ -d \(shellQuote(dir)) ] || exit 0; find -L \(shellQuote(dir)) -type f -printf '%P\\t%s\\n'", timeout: 300)
        guard status == 0 else { throw IOFailure(description: "listing \(dir) on \(session.target.host) failed (status \(status))") }
        var out2 = [String: Int64]()
        for line in String(decoding: out, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: "\t")
            if parts.count == 2, let n = Int64(parts[1]), parts[0] != Substring(DataManifest.fileName) { out2[String(parts[0])] = n }
        }
        return out2
    }

    public func readManifest(_ dir: String) -> DataManifest? {
        guard let (status, out) = try? session.run("cat \(shellQuote(dir + "/" + DataManifest.fileName)) 2>/dev/null"), status == 0 else { return nil }
        return try? JSONDecoder().decode(DataManifest.self, from: Data(out))
    }

    public func writeManifest(_ dir: String, _ m: DataManifest) throws {
        let path = dir + "/" + DataManifest.fileName
        let (status, _) = try session.run("mkdir -p \(shellQuote(dir)) && cat > \(shellQuote(path)).tmp && mv -f \(shellQuote(path)).tmp \(shellQuote(path))",
                                          input: Array(try JSONEncoder().encode(m)))
        guard status == 0 else { throw IOFailure(description: "writing \(path) on \(session.target.host) failed") }
    }

    public func sha256(_ dir: String, _ paths: [String]) throws -> [String: String] {
        var out = [String: String]()
        var i = 0
        while i < paths.count {
            let batch = paths[i..<min(i + 200, paths.count)]
            i += batch.count
            let (_, text) = try session.run("cd \(shellQuote(dir)) && { " + remoteSHA256Command(Array(batch)) + "; } 2>/dev/null", timeout: 3600)
            out.merge(parseSHA256Lines(text, for: Array(batch))) { a, _ in a }
        }
        return out
    }

    public func put(local: String, remote: String) throws {
        let (status, _) = try session.run("mkdir -p \(shellQuote(directoryOf(remote)))")
        guard status == 0 else { throw IOFailure(description: "cannot create \(directoryOf(remote)) on \(session.target.host)") }
        _ = try session.upload(local: local, to: remote)
    }
}

/// The coordinator's own machine, when a local node keeps its data somewhere else (inventory `data_dir`).
public struct LocalNodeFiles: NodeFiles {
    public init() {}

    public func list(_ dir: String) throws -> [String: Int64] {
        guard let e = FileManager.default.enumerator(atPath: dir) else { return [:] }
        var out = [String: Int64]()
        while let rel = e.nextObject() as? String {
            var st = stat()
            if stat(dir + "/" + rel, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, rel != DataManifest.fileName { out[rel] = Int64(st.st_size) }
        }
        return out
    }

    public func readManifest(_ dir: String) -> DataManifest? {
        FileManager.default.contents(atPath: dir + "/" + DataManifest.fileName).flatMap { try? JSONDecoder().decode(DataManifest.self, from: $0) }
    }

    public func writeManifest(_ dir: String, _ m: DataManifest) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try JSONEncoder().encode(m).withUnsafeBytes { try writeFileDurably(dir + "/" + DataManifest.fileName, $0) }
    }

    public func sha256(_ dir: String, _ paths: [String]) throws -> [String: String] {
        var out = [String: String]()
        for p in paths { out[p] = SHA256.hex(fileAt: dir + "/" + p) }
        return out
    }

    public func put(local: String, remote: String) throws {
        try FileManager.default.createDirectory(atPath: directoryOf(remote), withIntermediateDirectories: true)
        let src = open(local, O_RDONLY | O_CLOEXEC)
        guard src >= 0 else { throw IOFailure(description: "cannot read \(local)") }
        defer { close(src) }
        let dst = open(remote + ".part", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard dst >= 0 else { throw IOFailure(description: "cannot write \(remote).part: \(String(cString: strerror(errno)))") }
        copyAll(from: src, to: dst, bufferSize: 1 << 20)
        let synced = fsync(dst) == 0
        close(dst)
        guard synced, let want = SHA256.hex(fileAt: local), SHA256.hex(fileAt: remote + ".part") == want else {
            unlink(remote + ".part")
            throw IOFailure(description: "copy of \(local) to \(remote) does not verify")
        }
        guard rename(remote + ".part", remote) == 0 else { throw IOFailure(description: "rename to \(remote): \(String(cString: strerror(errno)))") }
    }
}
