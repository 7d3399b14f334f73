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
import PodiumSystem

/// A node fetches a competition's public data into its cache itself (`podium-worker stage`, issue 18): from a shared
/// filesystem path or an http:// mirror, against the manifest the coordinator sent. Every file is written to
/// `<name>.part`, resumed from its length (a byte range over HTTP), checked against the manifest's sha256 and only
/// then renamed into place; a file that does not match is deleted and named in the error. Verified files are noted in
/// a journal as they land, so a pull cut short (the coordinator killed, the connection gone) resumes without fetching or
/// hashing them again; the manifest is written last.
public enum DataPull {
    public struct Result: Codable, Sendable, Equatable {
        public var ok: Bool
        public var error: String?
        public var diskFull: Bool?
        /// The file that failed, when one did.
        public var file: String?
        public var files: Int = 0
        public var bytes: Int64 = 0
        public var fetchedFiles: Int = 0
        public var fetchedBytes: Int64 = 0
        /// Files whose `.part` was resumed rather than fetched from the start.
        public var resumedFiles: Int = 0
        enum CodingKeys: String, CodingKey {
            case ok, error, file, files, bytes, diskFull = "disk_full", fetchedFiles = "fetched_files", fetchedBytes = "fetched_bytes"
            case resumedFiles = "resumed_files"
        }
    }

    struct Failure: Error { var message: String; var file: String?; var diskFull = false }

    public static func run(manifest: DataManifest, source: String, dest: String, progress: (String) -> Void = { _ in }) -> Result {
        var r = Result(ok: false, files: manifest.files.count, bytes: manifest.totalBytes)
        do {
            try makeDirectory(dest)
            // Trusted without hashing: what the last complete pull recorded, and what this one verified before it stopped.
            var trusted = Set<String>()
            if let data = FileManager.default.contents(atPath: dest + "/" + DataManifest.fileName),
               let old = try? JSONDecoder().decode(DataManifest.self, from: data) {
                for f in old.files { trusted.insert("\(f.path)\t\(f.size)\t\(f.sha256)") }
            }
            let journalPath = dest + "/" + DataManifest.journalName
            if let text = try? String(contentsOfFile: journalPath, encoding: .utf8) {
                for line in text.split(separator: "\n") { trusted.insert(String(line)) }
            }
            let journal = open(journalPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            guard journal >= 0 else { throw failure("open \(journalPath)", errno) }
            defer { close(journal) }
            var lastNote = monotonicSeconds()
            var done: Int64 = 0
            for f in manifest.files {
                guard isSafeRelativePath(f.path) else { throw Failure(message: "the manifest names an unsafe path '\(f.path)'", file: f.path) }
                let full = dest + "/" + f.path
                let line = "\(f.path)\t\(f.size)\t\(f.sha256)"
                if fileSize(full) == f.size {
                    if trusted.contains(line) { done += f.size; continue }
                    if SHA256.hex(fileAt: full) == f.sha256 {
                        try note(journal, line)
                        done += f.size
                        continue
                    }
                }
                try makeDirectory(directoryOf(full))
                let part = full + ".part"
                let have = fileSize(part) ?? 0
                let resumeAt = have > 0 && have < f.size ? have : 0
                let fetched = try fetch(f, from: source, into: part, offset: resumeAt)
                if resumeAt > 0 && fetched.resumed { r.resumedFiles += 1 }
                let got = SHA256.hex(fileAt: part) ?? "unreadable"
                guard got == f.sha256, fileSize(part) == f.size else {
                    let size = fileSize(part) ?? -1
                    unlink(part)
                    throw Failure(message: "\(f.path) from \(source) does not match the coordinator's manifest: sha256 \(got.prefix(16))…, \(size) bytes; expected \(f.sha256.prefix(16))…, \(f.size) bytes — the source serves different data (fix or re-sync the mirror); the file was not kept", file: f.path)
                }
                guard rename(part, full) == 0 else { throw failure("rename \(part)", errno, file: f.path) }
                try note(journal, line)
                r.fetchedFiles += 1
                r.fetchedBytes += fetched.bytes
                done += f.size
                if monotonicSeconds() - lastNote >= 5 {
                    lastNote = monotonicSeconds()
                    progress("\(r.fetchedFiles) files fetched; \(done) of \(manifest.totalBytes) bytes in place")
                }
            }
            let encoded = try JSONEncoder().encode(manifest)
            do { try encoded.withUnsafeBytes { try writeFileDurably(dest + "/" + DataManifest.fileName, $0) } } catch {
                throw Failure(message: "\(error)", file: nil, diskFull: (error as? SystemError)?.isNoSpace ?? false)
            }
            unlink(journalPath)
            r.ok = true
        } catch let e as Failure {
            r.error = e.message
            r.file = e.file
            r.diskFull = e.diskFull
        } catch {
            r.error = "\(error)"
        }
        return r
    }

    /// Fetches the rest of one file into `part` from `offset`; returns the bytes moved and whether the source resumed.
    static func fetch(_ f: DataManifest.File, from source: String, into part: String, offset: Int64) throws -> (bytes: Int64, resumed: Bool) {
        if source.hasPrefix("http://") {
            let url = (source.hasSuffix("/") ? String(source.dropLast()) : source) + "/" + percentEncodePath(f.path)
            let fd = open(part, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw failure("open \(part)", errno, file: f.path) }
            defer { close(fd) }
            var written: Int64 = 0
            var start = offset
            var writeError: Failure?
            let status = try HTTPGet.get(url, from: offset) { status in
                // 206: the range was served; anything else restarts the file from its first byte.
                if status != 206 { start = 0 }
                ftruncate(fd, off_t(start))
            } body: { chunk in
                do {
                    try chunk.withUnsafeBytes { try pwriteAll(fd, $0, at: start + written, path: part) }
                    written += Int64(chunk.count)
                    return true
                } catch {
                    writeError = Failure(message: "\(error)", file: f.path, diskFull: (error as? SystemError)?.isNoSpace ?? false)
                    return false
                }
            }
            if let writeError { throw writeError }
            guard status == 200 || status == 206 else {
                throw Failure(message: "\(url): HTTP \(status)\(status == 404 ? " (the mirror has no such file: is it laid out like the data_dir?)" : "")", file: f.path)
            }
            guard fsync(fd) == 0 else { throw failure("fsync \(part)", errno, file: f.path) }
            return (written, status == 206)
        }
        let src = (source.hasSuffix("/") ? String(source.dropLast()) : source) + "/" + f.path
        let input = open(src, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw failure("open \(src) (the shared source)", errno, file: f.path) }
        defer { close(input) }
        let out = open(part, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard out >= 0 else { throw failure("open \(part)", errno, file: f.path) }
        defer { close(out) }
        ftruncate(out, off_t(offset))
        var at = offset
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = try buf.withUnsafeMutableBytes { b in try retryingEINTR("read", path: src) { pread(input, b.baseAddress, b.count, off_t(at)) } }
            if n == 0 { break }
            do { try buf.withUnsafeBytes { try pwriteAll(out, UnsafeRawBufferPointer(rebasing: $0[0..<n]), at: at, path: part) } } catch {
                throw Failure(message: "\(error)", file: f.path, diskFull: (error as? SystemError)?.isNoSpace ?? false)
            }
            at += Int64(n)
        }
        guard fsync(out) == 0 else { throw failure("fsync \(part)", errno, file: f.path) }
        return (at - offset, offset > 0)
    }

    static func note(_ journal: Int32, _ line: String) throws {
        let bytes = Array((line + "\n").utf8)
        guard bytes.withUnsafeBytes({ writeAll(journal, $0) }), fdatasync(journal) == 0 else { throw failure("write the journal", errno) }
    }

    static func failure(_ what: String, _ code: Int32, file: String? = nil) -> Failure {
        Failure(message: "\(what): \(SystemError.text(code))", file: file, diskFull: code == ENOSPC || code == EDQUOT)
    }

    static func fileSize(_ path: String) -> Int64? {
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int64(st.st_size)
    }

    static func makeDirectory(_ path: String) throws {
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw Failure(message: "cannot create \(path): \(error)", file: nil, diskFull: "\(error)".contains("space"))
        }
    }

    /// A manifest path stays inside the destination: relative, no "..", no empty or "." components.
    static func isSafeRelativePath(_ p: String) -> Bool {
        guard !p.isEmpty, !p.hasPrefix("/") else { return false }
        return !p.split(separator: "/", omittingEmptySubsequences: false).contains { $0.isEmpty || $0 == "." || $0 == ".." }
    }

    /// Percent-encodes a relative path for a URL (RFC 3986 unreserved characters and '/' stay).
    static func percentEncodePath(_ p: String) -> String {
        var out = ""
        for b in p.utf8 {
            let c = Character(UnicodeScalar(b))
            if c.isASCII && (c.isLetter || c.isNumber || "-._~/".contains(c)) { out.append(c) } else { out += String(format: "%%%02X", b) }
        }
        return out
    }
}

/// A plain HTTP/1.1 GET over TCP with an optional byte range (for `DataPull`'s http:// mirrors).
enum HTTPGet {
    struct Failure: Error, CustomStringConvertible { var description: String }

    /// `head` gets the status before any body byte; `body` each piece of it (false stops). Returns the status.
    static func get(_ url: String, from offset: Int64, head: (Int) -> Void, body: ([UInt8]) -> Bool) throws -> Int {
        guard url.hasPrefix("http://") else { throw Failure(description: "\(url): only http:// URLs are supported") }
        let rest = url.dropFirst(7)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = String(rest[..<slash])
        let path = slash == rest.endIndex ? "/" : String(rest[slash...])
        var host = authority, port = "80"
        if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
            host = String(authority[..<colon]); port = String(authority[authority.index(after: colon)...])
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let doing = "GET \(url)"
        let fd = try connect(host: host, port: port, doing: doing)
        defer { close(fd) }
        var request = "GET \(path) HTTP/1.1\r\nHost: \(authority)\r\nUser-Agent: podium-worker\r\nAccept-Encoding: identity\r\nConnection: close\r\n"
        if offset > 0 { request += "Range: bytes=\(offset)-\r\n" }
        request += "\r\n"
        do { try writeAll(fd, Array(request.utf8), doing: doing) } catch { throw Failure(description: "\(error)") }
        var reader = SocketReader(fd: fd)
        do {
            // 200 or 206: the body goes to `body`; anything else is returned without reading it.
            return try readHTTPResponse(&reader, doing: doing, wantBody: { status in
                guard status == 200 || status == 206 else { return false }
                head(status)
                return true
            }, onData: body)
        } catch let e as EngineError {
            throw Failure(description: e.description)
        }
    }

    static func connect(host: String, port: String, doing: String) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, port, &hints, &list)
        guard rc == 0, let first = list else {
            throw Failure(description: "\(doing): cannot resolve \(host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(first) }
        var lastError = ECONNREFUSED
        var p: UnsafeMutablePointer<addrinfo>? = first
        while let a = p {
            let fd = socket(a.pointee.ai_family, a.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), a.pointee.ai_protocol)
            if fd >= 0 {
                if Glibc.connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 {
                    var tv = timeval(tv_sec: 300, tv_usec: 0)  // a mirror silent for 5 minutes is a failure, not a hang
                    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                    return fd
                }
                lastError = errno
                close(fd)
            }
            p = a.pointee.ai_next
        }
        throw Failure(description: "\(doing): cannot connect to \(host):\(port): \(SystemError.text(lastError))")
    }
}
