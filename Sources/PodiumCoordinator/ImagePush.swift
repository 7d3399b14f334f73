#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodiumCore
import PodiumSSH
import PodiumSystem
import PodiumWorker

/// Agent images onto nodes where there is no registry: `docker save` here, a sha256-verified (resumable) copy over SSH,
/// `docker load` there, and the node's image id checked against this machine's.
public enum ImagePush {
    public enum Outcome: Sendable, Equatable {
        /// The node already had the same image id.
        case alreadyThere(id: String)
        case loaded(id: String, bytes: Int64, seconds: Double)
    }

    /// `saved`: a `docker save` tar of the image made earlier (shared by several nodes), with its local image id.
    public static func push(image: String, imageID: String, saved: String, to node: NodeSpec, force: Bool = false) throws -> Outcome {
        let s = try SSHSession(target: SSHTarget.from(node: node))
        defer { s.disconnect() }
        let inspect = "docker image inspect --format '{{.Id}}' \(shellQuote(image)) 2>/dev/null"
        let (_, before) = try s.run(inspect, timeout: 60)
        let remoteID = String(decoding: before, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if remoteID == imageID && !force { return .alreadyThere(id: imageID) }
        let began = monotonicSeconds()
        let remote = "/tmp/podium-image-\(imageID.replacingOccurrences(of: "sha256:", with: "").prefix(16)).tar"
        let copied = try s.upload(local: saved, to: remote)
        let (code, out) = try s.run("docker load -i \(shellQuote(remote)) >/dev/null 2>&1; rc=$?; rm -f \(shellQuote(remote)); [ $rc -eq 0 ] && \(inspect)", timeout: 3600)
        let loaded = String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard code == 0, !loaded.isEmpty else {
            throw ImagePushError(description: "\(node.name): `docker load` of \(image) failed there (exit \(code)); is the Docker Engine running and may \(node.user ?? "the user") use it?")
        }
        guard loaded == imageID else {
            throw ImagePushError(description: "\(node.name): after loading, \(image) is \(loaded) there, not \(imageID) as here")
        }
        return .loaded(id: loaded, bytes: copied.bytes, seconds: monotonicSeconds() - began)
    }
}

public struct ImagePushError: Error, CustomStringConvertible, Sendable {
    public var description: String
}
