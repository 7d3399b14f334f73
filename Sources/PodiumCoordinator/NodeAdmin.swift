#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodiumCore
import PodiumProtocol
import PodiumSSH
import PodiumSystem

/// An operator's connection to a node's daemon (it speaks for no sweep): `podium nodes sweeps` and `podium nodes clean`.
public enum NodeAdmin {
    /// Connects as the coordinator would (local child or verified SSH), sends `request` and returns the first reply
    /// `answers` accepts; an error reply from the daemon is thrown.
    public static func ask(_ node: NodeSpec, workDir: String, workerCommand: [String], stderrPath: String, _ request: Request,
                           timeout: Double, answers: @escaping (Reply) -> Bool) throws -> Reply {
        let inbox = BlockingQueue<NodeInput>()
        let deliver: @Sendable (NodeInput) -> Void = { inbox.push($0, wait: false) }
        let conn: WorkerConnection
        switch node.transport {
        case .local:
            conn = try WorkerConnection.local(node: node, generation: 1, tenant: nil, workerCommand: node.workerCommand ?? workerCommand,
                                              workDir: workDir, stderrPath: stderrPath, deliver: deliver)
        case .ssh:
            conn = try WorkerConnection.ssh(node: node, generation: 1, tenant: nil, target: SSHTarget.from(node: node),
                                            workerCommand: node.workerCommand ?? ["podium-worker"], workDir: workDir, stderrPath: stderrPath,
                                            deliver: deliver)
        }
        defer { conn.close(timeout: 5) }
        try conn.send(request)
        let until = monotonicSeconds() + timeout
        while monotonicSeconds() < until {
            guard let input = inbox.pop(timeout: max(0.05, until - monotonicSeconds())) else { break }
            switch input {
            case .reply(_, let r):
                if answers(r) { return r }
                if case .error(nil, let message) = r { throw ConnectionError(node: node.name, message: message) }
            case .disconnected(_, _, let reason):
                throw ConnectionError(node: node.name, message: "the connection ended before the daemon answered: \(reason)")
            }
        }
        throw ConnectionError(node: node.name, message: "the daemon did not answer within \(Int(timeout)) s")
    }

    /// The work directory of the node's daemon: the inventory's `work_dir`, else the default of its transport (a local
    /// node's default lives beside a sweep's state, so it needs the sweep's state directory).
    public static func workDir(_ node: NodeSpec, stateDir: String?) throws -> String {
        if let w = node.workDir { return w }
        switch node.transport {
        case .ssh: return "/var/lib/podium-worker"
        case .local:
            guard let stateDir else {
                throw ConfigError(path: "NODE", found: "local node '\(node.name)' without work_dir",
                                  expected: "its daemon's work directory", fix: "pass the sweep file (--inventory SWEEP.json), whose state directory holds it, or set work_dir in the inventory")
            }
            return stateDir + "/worker-" + node.name
        }
    }
}
