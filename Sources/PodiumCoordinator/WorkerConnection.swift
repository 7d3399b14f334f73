#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodiumCore
import PodiumProtocol

/// What reaches the coordinator's loop from a node.
public enum NodeInput: Sendable {
    case reply(node: String, Reply)
    case disconnected(node: String, reason: String)
}

/// A connection to one node's worker, whatever the transport. Replies are pushed into the coordinator's queue.
public final class WorkerConnection: @unchecked Sendable {
    public let node: String
    let writer: FrameWriter
    let child: ChildProcess?
    public private(set) var welcome: (workerVersion: String, gpus: Int, cpus: Double, memoryBytes: Int64)?

    /// `local` transport: starts `podium-worker serve` as a child process and shakes hands.
    public static func local(node: NodeSpec, workerCommand: [String], workDir: String, stderrPath: String,
                             inbox: BlockingQueue<NodeInput>) throws -> WorkerConnection {
        let args = workerCommand + ["serve", "--node", node.name, "--work-dir", workDir, "--gpus", String(node.gpus),
                                    "--cpus", String(node.cpus), "--memory", String(node.memoryBytes), "--runtime", node.runtime]
        let child = try ChildProcess(arguments: args, stderr: .file(stderrPath))
        let conn = WorkerConnection(node: node.name, writer: FrameWriter(fd: child.stdinFD), child: child)
        try conn.handshake(reader: FrameReader(fd: child.stdoutFD), inbox: inbox)
        return conn
    }

    init(node: String, writer: FrameWriter, child: ChildProcess?) {
        self.node = node; self.writer = writer; self.child = child
    }

    private func handshake(reader: FrameReader, inbox: BlockingQueue<NodeInput>) throws {
        try writer.send(Request.hello(protocolVersion: podiumProtocolVersion, coordinator: "podium \(podiumVersion)"))
        let first: Reply
        do { first = try reader.next(Reply.self) } catch {
            throw ConnectionError(node: node, message: "the worker did not answer the handshake: \(error) (see its log)")
        }
        switch first {
        case .welcome(let v, let wv, _, let gpus, let cpus, let mem):
            guard v == podiumProtocolVersion else {
                throw ConnectionError(node: node, message: FrameError.versionMismatch(ours: podiumProtocolVersion, theirs: v).description)
            }
            welcome = (wv, gpus, cpus, mem)
        case .error(_, let m):
            throw ConnectionError(node: node, message: m)
        default:
            throw ConnectionError(node: node, message: "unexpected first frame from the worker")
        }
        let node = self.node
        BlockingThread.start {
            while true {
                do {
                    inbox.push(.reply(node: node, try reader.next(Reply.self)))
                } catch {
                    inbox.push(.disconnected(node: node, reason: "\(error)"))
                    return
                }
            }
        }
    }

    public func send(_ r: Request) throws { try writer.send(r) }

    /// Ends the session: the worker stops the attempts it holds and exits.
    public func close(timeout: Double = 60) {
        try? writer.send(Request.shutdown)
        child?.closeInput()
        child?.wait(timeout: timeout)
    }
}

public struct ConnectionError: Error, CustomStringConvertible {
    public var node: String
    public var message: String
    public var description: String { "node \(node): \(message)" }
}
