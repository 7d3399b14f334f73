#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import PodiumCore
import PodiumSystem

/// The Docker Engine API calls podium uses (v1.41+, also served by Podman).
public struct DockerEngine: Sendable {
    public let http: UnixHTTPClient
    static let api = "/v1.41"

    /// The engine at DOCKER_HOST (unix://) or /var/run/docker.sock.
    public init(socketPath: String? = nil) {
        var path = socketPath ?? "/var/run/docker.sock"
        if socketPath == nil, let host = ProcessInfo.processInfo.environment["DOCKER_HOST"], host.hasPrefix("unix://") {
            path = String(host.dropFirst(7))
        }
        http = UnixHTTPClient(socketPath: path)
    }

    /// Server version, e.g. "20.10.24"; throws a clear error when the engine is unreachable.
    public func version() throws -> String {
        let r = try http.send("GET", Self.api + "/version", doing: "asking the Docker Engine for its version")
        struct V: Decodable { var Version: String }
        guard r.status == 200, let v = try? JSONDecoder().decode(V.self, from: Data(r.body)) else {
            throw EngineError(doing: "reading the Docker Engine version", status: r.status, message: r.text)
        }
        return v.Version
    }

    public func imageExists(_ image: String) throws -> Bool { try imageID(image) != nil }

    /// The image's id (`sha256:…`, a digest of its config: what ran, whatever tag it had), nil when it is not here.
    public func imageID(_ image: String) throws -> String? {
        let r = try http.send("GET", Self.api + "/images/\(percentEncode(image))/json", doing: "looking up image \(image)")
        guard r.status == 200 else { return nil }
        struct Info: Decodable { var Id: String }
        return (try? JSONDecoder().decode(Info.self, from: Data(r.body)))?.Id ?? "unknown"
    }

    /// Writes the image as `docker save` does (a tar of its layers and config) to `path`.
    public func saveImage(_ image: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw EngineError(doing: "saving image \(image)", status: nil, message: "cannot create \(path): \(SystemError.text(errno))") }
        defer { close(fd) }
        var failed = false
        let status = try http.stream("GET", Self.api + "/images/\(percentEncode(image))/get", doing: "saving image \(image)") { data in
            if !data.withUnsafeBytes({ writeAll(fd, $0) }) { failed = true; return false }
            return true
        }
        guard status == 200, !failed, fsync(fd) == 0 else {
            throw EngineError(doing: "saving image \(image)", status: status, message: failed ? "writing \(path) failed" : "the engine refused")
        }
    }

    /// The image id a container was created from.
    public func containerImage(_ id: String) throws -> String? {
        let r = try http.send("GET", Self.api + "/containers/\(id)/json", doing: "inspecting container \(id.prefix(12))")
        struct Info: Decodable { var Image: String }
        return r.status == 200 ? (try? JSONDecoder().decode(Info.self, from: Data(r.body)))?.Image : nil
    }

    public struct CreateSpec: Sendable {
        public var name: String
        public var image: String
        public var command: [String]
        public var env: [String: String]
        public var labels: [String: String]
        /// host path → (container path, read-only)
        public var binds: [(host: String, container: String, readOnly: Bool)]
        public var nanoCPUs: Int64
        public var memoryBytes: Int64
        public var shmBytes: Int64
        public var pidsLimit: Int64
        public var network: Bool
        public var gpuUUIDs: [String]
        public var workingDir: String
        public var ociRuntime: String? = nil
        public var user: String? = nil
        /// Replaces the image's entrypoint (and with it the image's CMD).
        public var entrypoint: [String]? = nil
        public var privileged: Bool = false
    }

    /// Creates a container; returns its id.
    public func create(_ s: CreateSpec) throws -> String {
        let body = CreateBody(
            Image: s.image, Entrypoint: s.entrypoint, Cmd: s.command.isEmpty ? nil : s.command,
            Env: s.env.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" },
            Labels: s.labels, WorkingDir: s.workingDir, NetworkDisabled: !s.network, User: s.user,
            HostConfig: .init(
                Binds: s.binds.map { "\($0.host):\($0.container)\($0.readOnly ? ":ro" : "")" },
                NanoCpus: s.nanoCPUs, Memory: s.memoryBytes, MemorySwap: s.memoryBytes, ShmSize: s.shmBytes,
                PidsLimit: s.pidsLimit, NetworkMode: s.network ? "bridge" : "none", Init: true, Runtime: s.ociRuntime,
                Privileged: s.privileged ? true : nil,
                DeviceRequests: s.gpuUUIDs.isEmpty ? nil
                    : [.init(Driver: "nvidia", DeviceIDs: s.gpuUUIDs, Capabilities: [["gpu"]])]))
        let doing = "creating container \(s.name) from \(s.image)"
        let r = try http.send("POST", Self.api + "/containers/create?name=\(percentEncode(s.name))",
                              json: Array(try JSONEncoder().encode(body)), doing: doing)
        struct Created: Decodable { var Id: String }
        guard r.status == 201, let c = try? JSONDecoder().decode(Created.self, from: Data(r.body)) else {
            throw EngineError(doing: doing, status: r.status, message: engineMessage(r))
        }
        return c.Id
    }

    struct CreateBody: Encodable {
        var Image: String
        var Entrypoint: [String]?
        var Cmd: [String]?
        var Env: [String]
        var Labels: [String: String]
        var WorkingDir: String
        var NetworkDisabled: Bool
        var User: String?
        var HostConfig: Host
        struct Host: Encodable {
            var Binds: [String]
            var NanoCpus: Int64
            var Memory: Int64
            var MemorySwap: Int64
            var ShmSize: Int64
            var PidsLimit: Int64
            var NetworkMode: String
            var Init: Bool
            var Runtime: String?
            var Privileged: Bool?
            var DeviceRequests: [DeviceRequest]?
        }
        struct DeviceRequest: Encodable {
            var Driver: String
            var DeviceIDs: [String]
            var Capabilities: [[String]]
        }
    }

    public func start(_ id: String) throws {
        let r = try http.send("POST", Self.api + "/containers/\(id)/start", doing: "starting container \(id.prefix(12))")
        guard r.status == 204 || r.status == 304 else {
            throw EngineError(doing: "starting container \(id.prefix(12))", status: r.status, message: engineMessage(r))
        }
    }

    public struct ContainerState: Sendable {
        public var running: Bool
        public var exitCode: Int
        public var oomKilled: Bool
        public var error: String
        /// The container's first process on the host (0 when not running).
        public var pid: Int32 = 0
    }

    public func inspect(_ id: String) throws -> ContainerState {
        let r = try http.send("GET", Self.api + "/containers/\(id)/json", doing: "inspecting container \(id.prefix(12))")
        struct Info: Decodable {
            struct State: Decodable { var Running: Bool; var ExitCode: Int; var OOMKilled: Bool; var Error: String?; var Pid: Int32? }
            var State: State
        }
        guard r.status == 200, let info = try? JSONDecoder().decode(Info.self, from: Data(r.body)) else {
            throw EngineError(doing: "inspecting container \(id.prefix(12))", status: r.status, message: engineMessage(r))
        }
        return ContainerState(running: info.State.Running, exitCode: info.State.ExitCode,
                              oomKilled: info.State.OOMKilled, error: info.State.Error ?? "", pid: info.State.Pid ?? 0)
    }

    /// Runs `command` in the running container as `user` (detached) and waits for it to end, until `deadline`
    /// (monotonic seconds); returns its exit code.
    public func exec(_ id: String, user: String, command: [String], deadline: Double) throws -> Int {
        struct ExecBody: Encodable { var User: String; var Cmd: [String]; var AttachStdout = false; var AttachStderr = false }
        let doing = "running \(command.first ?? "?") in \(id.prefix(12))"
        let r = try http.send("POST", Self.api + "/containers/\(id)/exec",
                              json: Array(try JSONEncoder().encode(ExecBody(User: user, Cmd: command))), doing: doing)
        struct Created: Decodable { var Id: String }
        guard r.status == 201, let e = try? JSONDecoder().decode(Created.self, from: Data(r.body)) else {
            throw EngineError(doing: doing, status: r.status, message: engineMessage(r))
        }
        let s = try http.send("POST", Self.api + "/exec/\(e.Id)/start", json: Array(#"{"Detach": true}"#.utf8), doing: doing)
        guard s.status == 200 else { throw EngineError(doing: doing, status: s.status, message: engineMessage(s)) }
        struct Info: Decodable { var Running: Bool; var ExitCode: Int? }
        while true {
            let q = try http.send("GET", Self.api + "/exec/\(e.Id)/json", doing: doing)
            guard q.status == 200, let info = try? JSONDecoder().decode(Info.self, from: Data(q.body)) else {
                throw EngineError(doing: doing, status: q.status, message: engineMessage(q))
            }
            if !info.Running { return info.ExitCode ?? -1 }
            guard monotonicSeconds() < deadline else {
                throw EngineError(doing: doing, status: nil, message: "still running at the setup deadline")
            }
            sleepSeconds(0.1)
        }
    }

    public func kill(_ id: String, signal: String) throws {
        let r = try http.send("POST", Self.api + "/containers/\(id)/kill?signal=\(signal)", doing: "sending \(signal) to \(id.prefix(12))")
        // 409: not running any more, which is what we wanted.
        guard r.status == 204 || r.status == 409 else {
            throw EngineError(doing: "sending \(signal) to \(id.prefix(12))", status: r.status, message: engineMessage(r))
        }
    }

    public func remove(_ id: String) throws {
        let r = try http.send("DELETE", Self.api + "/containers/\(id)?force=true&v=true", doing: "removing container \(id.prefix(12))")
        guard r.status == 204 || r.status == 404 else {
            throw EngineError(doing: "removing container \(id.prefix(12))", status: r.status, message: engineMessage(r))
        }
    }

    /// Containers carrying a label (`key` or `key=value`), running or not: (id, labels).
    public func list(label: String) throws -> [(id: String, labels: [String: String])] {
        let filters = "{\"label\":[\"\(label)\"]}"
        let r = try http.send("GET", Self.api + "/containers/json?all=1&filters=\(percentEncode(filters))", doing: "listing containers")
        struct Item: Decodable { var Id: String; var Labels: [String: String]? }
        guard r.status == 200, let items = try? JSONDecoder().decode([Item].self, from: Data(r.body)) else {
            throw EngineError(doing: "listing containers", status: r.status, message: engineMessage(r))
        }
        return items.map { ($0.Id, $0.Labels ?? [:]) }
    }

    /// Follows the container's stdout+stderr from its start until it exits, handing raw payload bytes to `sink`
    /// (the engine's 8-byte multiplexing headers removed, streams interleaved in arrival order).
    public func followLogs(_ id: String, sink: ([UInt8]) -> Void) throws {
        var demux = LogDemuxer()
        try http.stream("GET", Self.api + "/containers/\(id)/logs?follow=1&stdout=1&stderr=1",
                        doing: "following logs of \(id.prefix(12))") { data in
            demux.feed(data, sink)
            return true
        }
    }

    /// The container's whole stdout+stderr as the engine stored it (no follow), demultiplexed; from byte `skip` on.
    public func logs(_ id: String, skip: Int64) throws -> [UInt8] {
        var demux = LogDemuxer()
        var out = [UInt8](), seen: Int64 = 0
        _ = try http.stream("GET", Self.api + "/containers/\(id)/logs?stdout=1&stderr=1", doing: "reading logs of \(id.prefix(12))") { data in
            demux.feed(data) { chunk in
                let start = max(0, Int(skip - seen))
                if start < chunk.count { out += chunk[start...] }
                seen += Int64(chunk.count)
            }
            return true
        }
        return out
    }

    private func engineMessage(_ r: UnixHTTPClient.Response) -> String {
        struct Message: Decodable { var message: String }
        return (try? JSONDecoder().decode(Message.self, from: Data(r.body)))?.message ?? r.text
    }
}

/// Splits Docker's multiplexed log stream: [stream, 0, 0, 0, size(4, big-endian)] + payload.
struct LogDemuxer {
    private var pending: [UInt8] = []

    mutating func feed(_ data: [UInt8], _ sink: ([UInt8]) -> Void) {
        pending += data
        var i = 0
        while pending.count - i >= 8 {
            let size = Int(pending[i + 4]) << 24 | Int(pending[i + 5]) << 16 | Int(pending[i + 6]) << 8 | Int(pending[i + 7])
            guard pending.count - i - 8 >= size else { break }
            if size > 0 { sink(Array(pending[(i + 8)..<(i + 8 + size)])) }
            i += 8 + size
        }
        if i > 0 { pending.removeFirst(i) }
    }
}

func percentEncode(_ s: String) -> String {
    var out = ""
    for b in s.utf8 {
        let c = Character(UnicodeScalar(b))
        if c.isASCII && (c.isLetter || c.isNumber || "-._~".contains(c)) { out.append(c) } else {
            out += "%" + String(b, radix: 16, uppercase: true).leftPadded(2)
        }
    }
    return out
}

extension String {
    func leftPadded(_ n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}
