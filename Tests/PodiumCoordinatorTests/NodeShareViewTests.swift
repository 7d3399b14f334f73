import XCTest
@testable import PodiumCoordinator

/// Issue 27: what `podium status` says of a node shared with other sweeps, and why this sweep's runs wait.
final class NodeShareViewTests: XCTestCase {
    func holder(_ sweep: String, mine: Bool, attempts: Int, waiting: Int = 0, connected: Bool = true) -> NodeShareView.Holder {
        .init(sweep: sweep, id: sweep + ".0123456789ab", this_sweep: mine, connected: connected, attempts: attempts, gpus: attempts,
              cpus: Double(attempts * 4), memory_bytes: 0, waiting: waiting, share: 1, last_seen: 1_765_000_000)
    }

    func testAFullNodeHeldByOthersIsWhyRunsWait() {
        let full = NodeShareView(node: "gpu03", updated_at: 1_765_000_000, capacity_gpus: 4, capacity_cpus: 32, free_gpus: 0, free_cpus: 16,
                                 available_cpus: 0, available_gpus: 0,
                                 sweeps: [holder("mine", mine: true, attempts: 0, waiting: 6), holder("aide", mine: false, attempts: 3),
                                          holder("old", mine: false, attempts: 1, connected: false)])
        XCTAssertEqual(NodeShareView.waitingNote(pending: 6, [full]), "waiting: 6 runs; node gpu03 busy with 2 other sweeps (aide, old)")
        XCTAssertNil(NodeShareView.waitingNote(pending: 0, [full]), "nothing waits")
        XCTAssertTrue(full.line.contains("mine (this sweep) 0 attempts") && full.line.contains("aide 3 attempts, 3 GPUs"), full.line)
        XCTAssertTrue(full.line.contains("old 1 attempt, 1 GPU, 4.0 CPUs, coordinator away since"), full.line)
        var room = full
        room.free_gpus = 1
        room.available_gpus = 1
        XCTAssertNil(NodeShareView.waitingNote(pending: 6, [room]), "a GPU is free for this sweep: it is not others that hold it back")
        room.available_gpus = 0
        XCTAssertTrue(room.line.contains("held for another sweep by fair share"), room.line)
    }
}
