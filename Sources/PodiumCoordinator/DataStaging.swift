#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import PodiumCore
import PodiumProtocol
import PodiumSSH
import PodiumSystem

extension DataManifest {
    /// Walks `dir` (following symlinks to files, as `mlebench prepare` may leave them) and hashes every file; hashes
    /// are cached in `cacheFile` by (path, size, mtime) so a second sweep does not read the data again.
    public static func of(directory dir: String, cacheFile: String?) throws -> DataManifest {
        struct Cached: Codable { var size: Int64; var mtime: Double; var sha256: String }
        var cache = [String: Cached]()
        if let cacheFile, let data = FileManager.default.contents(atPath: cacheFile) {
            cache = (try? JSONDecoder().decode([String: Cached].self, from: data)) ?? [:]
        }
        guard let paths = FileManager.default.enumerator(atPath: dir) else {
            throw StagingError(description: "cannot read the public data directory \(dir)")
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
            guard let sha = SHA256.hex(fileAt: full) else { throw StagingError(description: "cannot read \(full)") }
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
    /// Copies many (small) files from `localDir` to `remoteDir`, verified; returns the paths it did not copy (the
    /// caller puts those one by one). The default copies none.
    func putMany(localDir: String, remoteDir: String, files: [DataManifest.File]) throws -> [DataManifest.File]
}

extension NodeFiles {
    public func putMany(localDir: String, remoteDir: String, files: [DataManifest.File]) throws -> [DataManifest.File] { files }
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
    /// Files up to this size are pushed in batches of up to `batchBytes` (and 2,000 files).
    static let batchFileLimit: Int64 = 16 << 20
    static let batchBytes: Int64 = 256 << 20

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
        // Small files travel in batches (one stream and one digest pass per batch, not five round trips per file);
        // large ones one by one (resumable). Whatever a batch could not place goes one by one as well.
        let small = push.filter { $0.size <= batchFileLimit }
        var single = push.filter { $0.size > batchFileLimit }
        var i = 0
        while i < small.count {
            var batch = [DataManifest.File]()
            var bytes: Int64 = 0
            while i < small.count && batch.count < 2000 && (batch.isEmpty || bytes + small[i].size <= batchBytes) {
                batch.append(small[i]); bytes += small[i].size; i += 1
            }
            let left = try node.putMany(localDir: localDir, remoteDir: remoteDir, files: batch)
            single += left
            sent += bytes - left.reduce(Int64(0)) { $0 + $1.size }
            progress?(sent, total)
        }
        for f in single {
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
        guard status == 0 else { throw StagingError(description: "listing \(dir) on \(session.target.host) failed (status \(status))") }
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
        guard status == 0 else { throw StagingError(description: "writing \(path) on \(session.target.host) failed") }
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

    /// One `tar -x` on the node per batch, fed a ustar stream written here; then the node's digests of what landed.
    /// Paths a ustar header cannot hold, and files whose digest does not match, are returned for one-by-one puts.
    public func putMany(localDir: String, remoteDir: String, files: [DataManifest.File]) throws -> [DataManifest.File] {
        var fits = [DataManifest.File](), left = [DataManifest.File]()
        for f in files { if TarWriter.header(path: f.path, size: f.size) != nil { fits.append(f) } else { left.append(f) } }
        guard !fits.isEmpty else { return left }
        let untar = try session.exec("mkdir -p \(shellQuote(remoteDir)) && cd \(shellQuote(remoteDir)) && exec tar -xf - --no-same-owner")
        let writer = TarWriter(fd: untar.fd)
        var unreadable = Set<String>()
        for f in fits where !writer.add(localPath: localDir + "/" + f.path, path: f.path, size: f.size) { unreadable.insert(f.path) }
        writer.finish()
        untar.closeWrite()
        _ = untar.readAll()
        let status = untar.waitExit(timeout: 600)
        untar.close()
        if let broken = untar.error { throw broken }
        // No usable tar on the node (or it failed): these files go one by one, which needs only cat.
        guard status == 0 else { return files }
        let sums = try sha256(remoteDir, fits.map(\.path))
        left += fits.filter { sums[$0.path] != $0.sha256 || unreadable.contains($0.path) }
        return left
    }

    public func put(local: String, remote: String) throws {
        let (status, _) = try session.run("mkdir -p \(shellQuote(directoryOf(remote)))")
        guard status == 0 else { throw StagingError(description: "cannot create \(directoryOf(remote)) on \(session.target.host)") }
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
        guard src >= 0 else { throw StagingError(description: "cannot read \(local)") }
        defer { close(src) }
        let dst = open(remote + ".part", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard dst >= 0 else { throw StagingError(description: "cannot write \(remote).part: \(SystemError.text(errno))") }
        copyAll(from: src, to: dst, bufferSize: 1 << 20)
        let synced = fsync(dst) == 0
        close(dst)
        guard synced, let want = SHA256.hex(fileAt: local), SHA256.hex(fileAt: remote + ".part") == want else {
            unlink(remote + ".part")
            throw StagingError(description: "copy of \(local) to \(remote) does not verify")
        }
        guard rename(remote + ".part", remote) == 0 else { throw StagingError(description: "rename to \(remote): \(SystemError.text(errno))") }
    }
}

/// A POSIX ustar stream of regular files (what `tar -x` reads), written straight to a descriptor.
struct TarWriter {
    let fd: Int32

    /// The 512-byte header for `path`, or nil when ustar cannot hold it (name over 100 bytes with no '/' to split it
    /// into a 155-byte prefix and a 100-byte name, or a size of 8 GiB or more).
    static func header(path: String, size: Int64) -> [UInt8]? {
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, size >= 0, size < 0o77777777777, !bytes.contains(0) else { return nil }
        var name = bytes, prefix = [UInt8]()
        if bytes.count > 100 {
            // Split at a '/' so that the prefix fits 155 bytes and the rest 100.
            guard let cut = bytes.indices.filter({ bytes[$0] == UInt8(ascii: "/") && $0 <= 155 && bytes.count - $0 - 1 <= 100 && $0 > 0 }).last
            else { return nil }
            prefix = Array(bytes[..<cut]); name = Array(bytes[(cut + 1)...])
            guard !name.isEmpty else { return nil }
        }
        var h = [UInt8](repeating: 0, count: 512)
        func put(_ field: [UInt8], at offset: Int) { for (i, b) in field.enumerated() { h[offset + i] = b } }
        func octal(_ v: Int64, width: Int) -> [UInt8] {  // zero-padded, NUL-terminated
            let digits = String(v, radix: 8)
            return Array((String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits).utf8) + [0]
        }
        put(name, at: 0)
        put(octal(0o644, width: 8), at: 100)
        put(octal(0, width: 8), at: 108)
        put(octal(0, width: 8), at: 116)
        put(octal(size, width: 12), at: 124)
        put(octal(0, width: 12), at: 136)
        put(Array("        ".utf8), at: 148)  // checksum field counts as spaces
        h[156] = UInt8(ascii: "0")
        put(Array("ustar".utf8) + [0], at: 257)
        put(Array("00".utf8), at: 263)
        put(prefix, at: 345)
        let sum = h.reduce(0) { $0 + Int($1) }
        put(octal(Int64(sum), width: 7) + [UInt8(ascii: " ")], at: 148)
        return h
    }

    /// Appends one file; false when it could not be read completely (the stream stays valid: the missing bytes are
    /// zeros, and the node's digest will not match).
    func add(localPath: String, path: String, size: Int64) -> Bool {
        guard let h = TarWriter.header(path: path, size: size) else { return false }
        write(h)
        let file = open(localPath, O_RDONLY | O_CLOEXEC)
        var done: Int64 = 0
        if file >= 0 {
            var buf = [UInt8](repeating: 0, count: 1 << 20)
            while done < size {
                guard let n = try? buf.withUnsafeMutableBytes({ b in try retryingEINTR("read") { read(file, b.baseAddress, min(b.count, Int(size - done))) } }),
                      n > 0 else { break }
                _ = buf.withUnsafeBytes { writeAll(fd, UnsafeRawBufferPointer(rebasing: $0[0..<n])) }  // a failure shows in tar's status
                done += Int64(n)
            }
            close(file)
        }
        let ok = done == size
        if !ok { write([UInt8](repeating: 0, count: Int(size - done))) }
        let pad = Int((512 - size % 512) % 512)
        if pad > 0 { write([UInt8](repeating: 0, count: pad)) }
        return ok
    }

    /// The end-of-archive marker: two zero blocks.
    func finish() { write([UInt8](repeating: 0, count: 1024)) }

    private func write(_ bytes: [UInt8]) { _ = bytes.withUnsafeBytes { writeAll(fd, $0) } }  // a failure shows in tar's status
}

/// Staging a node's public data failed: what, where, and (when the OS said so) why.
public struct StagingError: Error, CustomStringConvertible {
    public var description: String
}
