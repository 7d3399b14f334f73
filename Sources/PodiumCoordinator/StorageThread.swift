#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import Logging
import PodiumCore
import PodiumGrading
import PodiumProtocol
import PodiumScheduler
import PodiumStore
import PodiumSystem

/// Every write of received bytes (log appends, artifact chunks), digest, fsync and durable write of central attempt
/// storage, in the order the loop handed them out, on one thread off the loop; each answer goes back through the
/// inbox. The queue is bounded: a disk slower than the nodes holds the loop (and through it the nodes), never memory.
/// A failure (the coordinator's disk is full) stops the sweep with its reason.
final class StorageThread: Sendable {
    /// Jobs waiting: log and chunk frames are at most a few MiB each.
    static let capacity = 64
    private let jobs = BlockingQueue<(@Sendable () throws -> CoordinatorEvent?)?>(capacity: StorageThread.capacity)
    private let outstanding = Locked(0)
    private let finished = Locked(false)

    init(inbox: BlockingQueue<SweepRunner.Input>) {
        let jobs = self.jobs, outstanding = self.outstanding
        BlockingThread.start {
            while true {
                guard let item = jobs.pop(timeout: 3600) else { continue }
                guard let job = item else { return }
                // Answers never wait for room in the inbox: the loop may be waiting for room in this queue.
                do {
                    if let e = try job() { inbox.push(.event(e), wait: false) }
                } catch {
                    inbox.push(.failed("\(error)"), wait: false)
                }
                outstanding.withLock { $0 -= 1 }
            }
        }
    }

    /// Queues a job; waits while the queue is full.
    func submit(_ job: @escaping @Sendable () throws -> CoordinatorEvent?) {
        outstanding.withLock { $0 += 1 }
        jobs.push(job)
    }

    /// Waits (30 s at most: an interrupted sweep's answers may find no reader) until every job submitted so far is done
    /// (log fsyncs at the end of a sweep), then ends the thread.
    func finish() {
        guard finished.withLock({ done in defer { done = true }; return !done }) else { return }
        let until = monotonicSeconds() + 30
        while outstanding.withLock({ $0 }) > 0 && monotonicSeconds() < until { sleepSeconds(0.005) }
        jobs.push(nil, wait: false)
    }
}
