#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodiumCore
import PodiumProtocol
import PodiumSSH
import PodiumSystem

/// What reaches the coordinator's loop from a node.
public enum NodeInput: Sendable {
    case reply(node: String, Reply)
    /// The connection of this generation ended (a later connection of the same node has a higher one).
    case disconnected(node: String, generation: Int, reason: String)
}

/// A connection to one node's worker, whatever the transport. Replies are pushed into the coordinator's queue.
public final class WorkerConnection: @unchecked Sendable {
    public let node: String
    /// Which connection to the node this is (numbered by the coordinator), so a late notice of an old one is told apart.
    public let generation: Int
    let writer: FrameWriter
    let child: ChildProcess?
    let ssh: (session: SSHSession, exec: SSHExec)?
    public private(set) var welcome: (workerVersion: String, gpus: Int, cpus: Double, memoryBytes: Int64, gpuModel: String?)?
    /// False once the reader saw the connection end (a late `.disconnected` of an old connection is then told apart).
    public let alive = Locked(true)
    /// Requests go out on a writer thread, so the coordinator's loop never blocks on a node's socket (it must keep
    /// reading replies, or a node blocked on sending would never read our requests: a deadlock).
    private let outgoing = BlockingQueue<Request?>()
    private let sendFailure = Locked<String?>(nil)
    private let writerDone = Locked(false)

    /// `local` transport: `podium-worker attach` as a child process (it starts the node's daemon if none runs).
    public static func local(node: NodeSpec, generation: Int, tenant: Tenant?, workerCommand: [String], workDir: String, stderrPath: String,
                             deliver: @escaping @Sendable (NodeInput) -> Void) throws -> WorkerConnection {
        let child = try ChildProcess(arguments: attachArguments(node, workerCommand: workerCommand, workDir: workDir),
                                     stderr: .file(stderrPath))
        let conn = WorkerConnection(node: node.name, generation: generation, writer: FrameWriter(fd: child.stdinFD), child: child, ssh: nil)
        try conn.handshake(reader: FrameReader(fd: child.stdoutFD), tenant: tenant, deliver: deliver)
        return conn
    }

    /// `ssh` transport: `podium-worker attach` on the node over an exec channel of a verified SSH session;
    /// the worker's stderr lands in `stderrPath` on the coordinator.
    public static func ssh(node: NodeSpec, generation: Int, tenant: Tenant?, target: SSHTarget, workerCommand: [String], workDir: String, stderrPath: String,
                           deliver: @escaping @Sendable (NodeInput) -> Void) throws -> WorkerConnection {
        let session = try SSHSession(target: target)
        do {
            let command = attachArguments(node, workerCommand: workerCommand, workDir: workDir).map(shellQuote).joined(separator: " ")
            let exec = try session.exec(command, stderrPath: stderrPath)
            let conn = WorkerConnection(node: node.name, generation: generation, writer: FrameWriter(fd: exec.fd), child: nil, ssh: (session, exec))
            try conn.handshake(reader: FrameReader(fd: exec.fd), tenant: tenant, deliver: deliver)
            return conn
        } catch {
            session.disconnect()
            throw error
        }
    }

    static func attachArguments(_ node: NodeSpec, workerCommand: [String], workDir: String) -> [String] {
        workerCommand + ["attach", "--node", node.name, "--work-dir", workDir, "--gpus", String(node.gpus),
                         "--cpus", String(node.cpus), "--memory", String(node.memoryBytes), "--runtime", node.runtime.rawValue]
            + (node.diskBytes.map { ["--disk", String($0)] } ?? [])
            + (node.slurm.flatMap { try? JSONEncoder().encode($0) }.map { ["--slurm", String(decoding: $0, as: UTF8.self)] } ?? [])
    }

    init(node: String, generation: Int, writer: FrameWriter, child: ChildProcess?, ssh: (session: SSHSession, exec: SSHExec)?) {
        self.node = node; self.generation = generation; self.writer = writer; self.child = child; self.ssh = ssh
    }

    private func handshake(reader: FrameReader, tenant: Tenant?, deliver: @escaping @Sendable (NodeInput) -> Void) throws {
        try writer.send(Request.hello(protocolVersion: podiumProtocolVersion, coordinator: "podium \(podiumVersion)", tenant: tenant))
        let first: Reply
        do { first = try reader.next(Reply.self) } catch {
            throw ConnectionError(node: node, message: "the worker did not answer the handshake: \(error) (see its log)")
        }
        switch first {
        case .welcome(let v, let wv, _, let gpus, let cpus, let mem, let model):
            guard v == podiumProtocolVersion else {
                throw ConnectionError(node: node, message: FrameError.versionMismatch(ours: podiumProtocolVersion, theirs: v).description)
            }
            welcome = (wv, gpus, cpus, mem, model)
        case .error(_, let m) where m.contains("protocol version mismatch") && !m.contains("this side speaks \(podiumProtocolVersion)"):
            // An older worker's words: say which side to upgrade, from here.
            throw ConnectionError(node: node, message: m + "; this coordinator speaks protocol \(podiumProtocolVersion): upgrade podium-worker on \(node) (copy the new binary there, then run `podium-worker stop --work-dir DIR`; running attempts are taken over)")
        case .error(_, let m):
            throw ConnectionError(node: node, message: m)
        default:
            throw ConnectionError(node: node, message: "unexpected first frame from the worker")
        }
        let node = self.node, generation = self.generation, alive = self.alive
        let outgoing = self.outgoing, writer = self.writer, sendFailure = self.sendFailure, writerDone = self.writerDone
        BlockingThread.start {
            defer { writerDone.withLock { $0 = true } }
            while true {
                guard let item = outgoing.pop(timeout: 3600) else { continue }
                guard let r = item else { return }
                do { try writer.send(r) } catch {
                    sendFailure.withLock { $0 = "\(error)" }
                    return
                }
            }
        }
        BlockingThread.start {
            while true {
                do {
                    deliver(.reply(node: node, try reader.next(Reply.self)))
                } catch {
                    alive.withLock { $0 = false }
                    deliver(.disconnected(node: node, generation: generation, reason: "\(error)"))
                    return
                }
            }
        }
    }

    /// Queues a request for the writer thread; throws once the connection is known to be broken.
    public func send(_ r: Request) throws {
        if let why = sendFailure.withLock({ $0 }) { throw ConnectionError(node: node, message: "cannot send to the worker: \(why)") }
        guard alive.withLock({ $0 }) else { throw ConnectionError(node: node, message: "the connection to the worker is closed") }
        outgoing.push(r, wait: false)
    }

    /// Ends the session: the worker stops the attempts it holds and exits.
    public func close(timeout: Double = 60) {
        outgoing.push(.shutdown, wait: false)
        outgoing.push(nil, wait: false)
        let until = monotonicSeconds() + min(timeout, 10)
        while !writerDone.withLock({ $0 }) && monotonicSeconds() < until { sleepSeconds(0.01) }
        child?.closeInput()
        child?.wait(timeout: timeout)
        if let (session, exec) = ssh {
            exec.closeWrite()
            _ = exec.waitExit(timeout: timeout)
            session.disconnect()
        }
    }
}

public struct ConnectionError: Error, CustomStringConvertible {
    public var node: String
    public var message: String
    public var description: String { "node \(node): \(message)" }
}
