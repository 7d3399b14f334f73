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

/// Which containers are this daemon's: its id, made once per work directory, and the removal of its own orphans only.
extension WorkerServer {
    /// Removes this daemon's containers that no attempt on disk accounts for (started, then the daemon died before
    /// recording them); containers of recorded attempts are left for `recover`. Only containers labelled with this
    /// daemon's id: another daemon's (another work directory, another user, the same node name) are never touched.
    public func removeOrphans(engine: DockerEngine) {
        // Another daemon (another work directory, another user) runs containers under this node's name on this engine:
        // the engine's resources are not this daemon's alone, and its ledger cannot see theirs. Said, never touched.
        if let same = try? engine.list(label: "podium.node=\(node)") {
            let others = Set(same.compactMap { c in c.labels["podium.daemon"].flatMap { $0 == daemonID ? nil : "\($0.prefix(8)) (\(c.labels["podium.work_dir"] ?? "?"))" } })
            if !others.isEmpty {
                log("warning: another podium-worker daemon runs containers as node \(node) on this Docker engine: \(others.sorted().joined(separator: ", ")); their GPUs, CPUs and memory are not in this daemon's ledger — share one work_dir between sweeps of this machine")
            }
        }
        guard let containers = try? engine.list(label: "podium.daemon=\(daemonID)") else { return }
        let fm = FileManager.default
        let recorded = Set(attemptDirectories().compactMap { a -> String? in
            guard !fm.fileExists(atPath: a.path + "/result.json"), let d = fm.contents(atPath: a.path + "/attempt.json"),
                  let r = try? JSONDecoder().decode(AttemptRecord.self, from: d) else { return nil }
            return r.identity
        })
        for c in containers where !recorded.contains(c.id) {
            log("removing orphaned container \(c.id.prefix(12)) of run \(c.labels["podium.run"] ?? "?") epoch \(c.labels["podium.epoch"] ?? "?")")
            try? engine.remove(c.id)
        }
    }

    /// The work directory's daemon id: read from `daemon-id`, or made (random, 128 bits) and written durably the first
    /// time. Unreadable and unwritable both fall back to a digest of the work directory's path (still unique per
    /// directory on one host).
    static func daemonIdentity(workDir: String) -> String {
        let path = workDir + "/daemon-id"
        if let d = FileManager.default.contents(atPath: path) {
            let text = String(decoding: d, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if text.count >= 16, text.allSatisfy(\.isHexDigit) { return text }
        }
        var g = SystemRandomNumberGenerator()
        let id = (0..<2).map { _ in String(g.next() as UInt64, radix: 16) }.map { String(repeating: "0", count: 16 - $0.count) + $0 }.joined()
        try? FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
        let written: Bool = (try? Data((id + "\n").utf8).withUnsafeBytes { try writeFileDurably(path, $0) }) != nil
        return written ? id : SHA256.hex(workDir).prefix(32).description
    }
}
