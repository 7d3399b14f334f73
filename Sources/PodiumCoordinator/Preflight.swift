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

/// One check `podium plan` and the start of `podium sweep` run before anything is dispatched: what would fail hours
/// later is found now. Errors stop the command (exit 2); warnings are printed and the sweep may start (a node that is
/// down now gets its runs when it comes back).
public enum Preflight {
    public struct Finding: Codable, Sendable, Equatable, CustomStringConvertible {
        public enum Level: String, Codable, Sendable { case error, warning }
        public var level: Level
        public var message: String
        public var description: String { "\(level.rawValue): \(message)" }
    }

    /// `probeNodes`: connect to every node (in parallel) to check its worker, Docker Engine, the agent image and what
    /// it declares against what it has.
    public static func run(_ setup: SweepSetup, localWorker: [String], probeNodes: Bool = true,
                           environment: [String: String] = ProcessInfo.processInfo.environment) -> [Finding] {
        var out = [Finding]()
        func fail(_ m: String) { out.append(Finding(level: .error, message: m.hasPrefix("error: ") ? String(m.dropFirst(7)) : m)) }
        func warning(_ m: String) { out.append(Finding(level: .warning, message: m)) }
        do { try setup.checkSecrets(environment: environment) } catch { fail("\(error)") }
        do { try setup.checkPreparedData() } catch { fail("\(error)") }
        for w in setup.agentWarnings { warning(w.hasPrefix("warning: ") ? String(w.dropFirst(9)) : w) }
        for n in setup.inventory.nodes where n.transport == .ssh {
            if let key = n.identityFile {
                let path = resolvePath(key, relativeTo: directoryOf(setup.config.inventory))
                if access(path, R_OK) != 0 {
                    fail("\(setup.config.inventory): node \(n.name): identity_file \(path) is not readable (\(SystemError.text(errno))) — fix the path or its permissions, or drop identity_file to use ssh-agent")
                }
            }
        }
        // Lazy data (nodes with a data_cache): a competition larger than every cache could never run.
        if setup.lazyData {
            // The prepared data's own sizes; MLE-bench's dataset sizes where it is not prepared yet (`podium plan`).
            let listed = CompetitionRegistry.datasetBytes(mlebenchDir: setup.config.mlebenchDir)
            var sizes = [String: Int64]()
            for c in setup.competitions {
                let real = DataManifest.bytes(under: setup.publicDataDir(c.id))
                sizes[c.id] = real > 0 ? real : listed[c.id]
            }
            let largest = setup.inventory.nodes.map { $0.dataCache?.maxBytes ?? Int64.max }.max() ?? 0
            for c in setup.competitions {
                if let bytes = sizes[c.id], bytes > largest {
                    fail("\(c.id)'s public data is \(formatBytes(bytes)) but the largest data_cache in \(setup.config.inventory) holds \(formatBytes(largest)): its runs could never start — raise a node's data_cache.max_bytes or leave \(c.id) out")
                }
            }
            for n in setup.inventory.nodes {
                if case .shared(let root) = n.dataCache?.source, n.transport == .local,
                   let c = setup.competitions.first, access(root + "/" + c.id + "/prepared/public", R_OK) != 0 {
                    fail("\(setup.config.inventory): node \(n.name): data_cache.source \(root) has no \(c.id)/prepared/public — point it at a directory laid out like the data_dir (\(setup.config.dataDir))")
                }
            }
        }
        guard probeNodes else { return out }
        let image = setup.config.agent.image
        let reports = NodeProbe.checkAll(setup.inventory.nodes, localWorker: localWorker, images: [image])
        for (n, r) in zip(setup.inventory.nodes, reports) {
            if r.os == nil {
                // A changed or unknown host key and a refused key never clear by themselves, and a changed key can mean
                // interception: a person must look before anything is sent there.
                switch r.error_kind {
                case "host_key_changed":
                    fail("node \(n.name): \(r.error ?? "its host key changed") — fix: if the node was reinstalled, remove its line from known_hosts and run `podium nodes add \(n.name) … --accept-new-host-key`; otherwise find out who answers at \(n.host ?? n.name)")
                case "host_key_unknown":
                    fail("node \(n.name): \(r.error ?? "its host key is unknown")")
                case "auth":
                    fail("node \(n.name): the node refused podium's key (\(r.error ?? "authentication failed")) — fix: add the public key of \(n.identityFile.map { "\($0).pub" } ?? "your ssh-agent's key") to ~\(n.user ?? "root")/.ssh/authorized_keys on \(n.host ?? n.name), or set the node's user/identity_file")
                default:
                    warning("node \(n.name) is unreachable now (\(r.error ?? "no answer")); its runs go elsewhere until it is back")
                }
                continue
            }
            for note in r.notes where note.hasPrefix("a podium-worker daemon runs there") { warning("node \(n.name): \(note)") }
            if r.worker == nil { fail("node \(n.name): podium-worker not found (install it: workers/install.sh, or set worker_command)") }
            if n.runtime == .docker {
                if r.docker == nil {
                    fail("node \(n.name): no reachable Docker Engine (start dockerd, or set \"runtime\": \"process\" for a node without Docker)")
                } else if case .some(.none) = r.images[image] {
                    fail("node \(n.name): image \(image) is not on the node — every run placed there would fail; load it with `podium nodes push-image \(image) --node \(n.name)` (or build it there)")
                }
            }
            if n.runtime == .slurm {
                // A Slurm target that cannot take jobs (no such partition, no sinfo, a work directory the compute nodes
                // cannot write) would fail every attempt: refused before anything is submitted.
                for m in r.mismatches { fail("\(setup.config.inventory): node \(n.name) (slurm): \(m)") }
                continue
            }
            for m in r.mismatches { warning("node \(n.name): \(m) (the inventory may place runs it cannot hold; `podium nodes check` shows it, `oversubscribe: true` says it is meant)") }
        }
        return out
    }
}
