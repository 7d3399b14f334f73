import XCTest
import PodiumCore
@testable import PodiumProtocol

/// Issue 27: the daemon's ledger of its node across sweeps — admission, release, fair share.
final class NodeLedgerTests: XCTestCase {
    let slot = ResourceAmount(gpus: 0, cpus: 1, memoryBytes: 1 << 30)
    let node = ResourceAmount(gpus: 0, cpus: 4, memoryBytes: 16 << 30, diskBytes: ResourceAmount.unlimitedDisk)

    func testFitsRefusesAndReleases() {
        var l = NodeLedger(capacity: node)
        l.connected("a", sweep: "alpha", share: 1, now: 0)
        for i in 0..<4 { XCTAssertEqual(l.admit("a/r\(i)", tenant: "a", amount: slot, now: 1), .granted) }
        guard case .busy(let why) = l.admit("a/r4", tenant: "a", amount: slot, now: 1) else { return XCTFail("a fifth slot was granted") }
        XCTAssertTrue(why.contains("needs 1 CPU") && why.contains("free 0 CPUs"), why)
        XCTAssertEqual(l.free.cpus, 0)
        // Granting the same attempt twice holds it once.
        XCTAssertEqual(l.admit("a/r0", tenant: "a", amount: slot, now: 1), .granted)
        XCTAssertEqual(l.holdings.count, 4)
        l.release("a/r2", now: 2)
        l.release("a/r2", now: 2)  // a second release of the same attempt frees nothing more
        XCTAssertEqual(l.free.cpus, 1)
        XCTAssertEqual(l.admit("a/r4", tenant: "a", amount: slot, now: 3), .granted)
        // Memory and GPUs count too.
        l.release("a/r4", now: 4)
        guard case .busy = l.admit("a/big", tenant: "a", amount: ResourceAmount(gpus: 0, cpus: 1, memoryBytes: 14 << 30), now: 5) else {
            return XCTFail("14 GiB granted with 13 GiB free")
        }
        guard case .busy = l.admit("a/gpu", tenant: "a", amount: ResourceAmount(gpus: 1, cpus: 1, memoryBytes: 1 << 30), now: 5) else {
            return XCTFail("a GPU granted on a node without one")
        }
    }

    func testRecoveredAttemptsAreHeldEvenOverCapacity() {
        var l = NodeLedger(capacity: node)
        for i in 0..<5 { l.reserve("a/r\(i)", tenant: "a", amount: slot, now: 0) }
        XCTAssertEqual(l.used.cpus, 5)
        XCTAssertEqual(l.load(for: "a", now: 0).free.cpus, 0, "free never shows below zero")
        guard case .busy = l.admit("b/r0", tenant: "b", amount: slot, now: 0) else { return XCTFail("over-committed node granted more") }
    }

    func testFreedRoomGoesToTheSweepBelowItsShareThenToAnyoneAfterTheWindow() {
        var l = NodeLedger(capacity: node, fairnessWindow: 30)
        l.connected("a", sweep: "alpha", share: 1, now: 0)
        for i in 0..<4 { XCTAssertEqual(l.admit("a/r\(i)", tenant: "a", amount: slot, now: 0), .granted) }
        l.connected("b", sweep: "beta", share: 1, now: 1)
        l.demand("b", waiting: 5, smallest: slot)
        l.demand("a", waiting: 10, smallest: slot)
        l.release("a/r0", now: 10)
        XCTAssertEqual(l.available(to: "a", now: 10), .zero, "the room is held for beta")
        XCTAssertEqual(l.available(to: "b", now: 10).cpus, 1)
        guard case .busy(let why) = l.admit("a/r4", tenant: "a", amount: slot, now: 11) else { return XCTFail("alpha took beta's room") }
        XCTAssertTrue(why.contains("fair share") && why.contains("beta"), why)
        XCTAssertEqual(l.admit("b/r0", tenant: "b", amount: slot, now: 12), .granted)
        // 3 vs 1: the next freed slot is beta's again, and then they are even.
        l.release("a/r1", now: 20)
        guard case .busy = l.admit("a/r5", tenant: "a", amount: slot, now: 20) else { return XCTFail("alpha at 2 took the room from beta at 1") }
        XCTAssertEqual(l.admit("b/r1", tenant: "b", amount: slot, now: 21), .granted)
        l.release("a/r2", now: 30)
        XCTAssertEqual(l.admit("a/r6", tenant: "a", amount: slot, now: 30), .granted, "alpha (1) is below beta (2): its turn")
        // Beta's attempt ends, so beta (1) is below alpha (2), but beta does not claim the room: alpha may have it after
        // the window.
        l.release("b/r0", now: 40)
        XCTAssertEqual(l.available(to: "a", now: 41), .zero)
        XCTAssertEqual(l.available(to: "a", now: 70.5).cpus, 1)
        XCTAssertEqual(l.admit("a/r7", tenant: "a", amount: slot, now: 71), .granted)
    }

    func testNoRoomIsHeldForASweepThatCannotUseItOrIsGone() {
        var l = NodeLedger(capacity: node)
        l.connected("a", sweep: "alpha", share: 1, now: 0)
        l.connected("b", sweep: "beta", share: 1, now: 0)
        for i in 0..<4 { _ = l.admit("a/r\(i)", tenant: "a", amount: slot, now: 0) }
        // Beta's smallest run needs 2 CPUs: one freed CPU is no use to it.
        l.demand("b", waiting: 3, smallest: ResourceAmount(gpus: 0, cpus: 2, memoryBytes: 1 << 30))
        l.release("a/r0", now: 5)
        XCTAssertEqual(l.admit("a/r4", tenant: "a", amount: slot, now: 5), .granted)
        // Beta without waiting runs, or disconnected: nothing is held either.
        l.demand("b", waiting: 0, smallest: slot)
        l.release("a/r1", now: 6)
        XCTAssertEqual(l.admit("a/r5", tenant: "a", amount: slot, now: 6), .granted)
        l.demand("b", waiting: 3, smallest: slot)
        l.disconnected("b", now: 7)
        l.release("a/r2", now: 7)
        XCTAssertEqual(l.admit("a/r6", tenant: "a", amount: slot, now: 7), .granted)
    }

    func testLoadSaysWhatEachSweepHolds() {
        var l = NodeLedger(capacity: node)
        l.connected("a", sweep: "alpha", share: 2, now: 0)
        l.connected("b", sweep: "beta", share: 1, now: 0)
        _ = l.admit("a/r0", tenant: "a", amount: slot, now: 0)
        _ = l.admit("b/r0", tenant: "b", amount: slot, now: 0)
        _ = l.admit("b/r1", tenant: "b", amount: slot, now: 0)
        l.demand("b", waiting: 7, smallest: slot)
        let load = l.load(for: "a", now: 0)
        XCTAssertEqual(load.mine.cpus, 1)
        XCTAssertEqual(load.free.cpus, 1)
        XCTAssertEqual(load.tenants.map { "\($0.sweep) \($0.attempts) \($0.held.cpus) w\($0.waiting) s\($0.share)" },
                       ["alpha 1 1.0 w0 s2.0", "beta 2 2.0 w7 s1.0"])
        l.disconnected("a", now: 9)
        XCTAssertEqual(l.load(for: "b", now: 9).tenants.first?.connected, false, "a gone sweep with attempts is still listed")
    }

    /// Three sweeps of shares 1, 1, 2 with endless demand on a 4-slot node, attempts of random length, asking in a random
    /// order whenever a slot frees: each gets its entitlement of slot-seconds (25/25/50 %) within a few points.
    func testWeightedSharesConvergeToTheirEntitlement() {
        var rng = SeededRandom(seed: 7)
        var l = NodeLedger(capacity: node, fairnessWindow: 30)
        let shares = ["a": 1.0, "b": 1.0, "c": 2.0]
        for (t, s) in shares { l.connected(t, sweep: t, share: s, now: 0); l.demand(t, waiting: 100, smallest: slot) }
        var running: [(end: Double, owner: String, tenant: String, start: Double)] = []
        var seconds = [String: Double]()
        var now = 0.0, n = 0
        func offer() {
            // Every sweep asks (in a random order) until nothing more is granted.
            var progress = true
            while progress {
                progress = false
                for t in shares.keys.sorted().shuffled(using: &rng) {
                    n += 1
                    if l.admit("\(t)/\(n)", tenant: t, amount: slot, now: now) == .granted {
                        running.append((now + Double(rng.int(60...600)), "\(t)/\(n)", t, now))
                        progress = true
                    }
                }
            }
        }
        offer()
        while now < 200_000 {
            running.sort { $0.end < $1.end }
            let done = running.removeFirst()
            now = done.end
            seconds[done.tenant, default: 0] += done.end - done.start
            l.release(done.owner, now: now)
            offer()
        }
        let total = seconds.values.reduce(0, +)
        for (t, s) in shares {
            let got = seconds[t, default: 0] / total, want = s / 4
            XCTAssertEqual(got, want, accuracy: 0.05, "sweep \(t): \(got) of the slot-seconds, entitled to \(want)")
        }
    }

    /// On a node of one GPU both sweeps hold nothing whenever it frees: recent usage for their weight decides, so shares
    /// 1 and 2 still get 1/3 and 2/3 of it over time (without it they would get half each).
    func testOneGPUNodeFollowsTheWeightsThroughRecentUsage() {
        let gpu = ResourceAmount(gpus: 1, cpus: 4, memoryBytes: 1 << 30)
        var l = NodeLedger(capacity: ResourceAmount(gpus: 1, cpus: 8, memoryBytes: 8 << 30))
        l.connected("a", sweep: "a", share: 1, now: 0)
        l.connected("b", sweep: "b", share: 2, now: 0)
        l.demand("a", waiting: 100, smallest: gpu)
        l.demand("b", waiting: 100, smallest: gpu)
        var rng = SeededRandom(seed: 3)
        var now = 0.0, n = 0
        var seconds = ["a": 0.0, "b": 0.0]
        while now < 400 * 3600 {
            var granted: String?
            for t in ["a", "b"].shuffled(using: &rng) {
                n += 1
                if l.admit("\(t)/\(n)", tenant: t, amount: gpu, now: now) == .granted { granted = "\(t)/\(n)"; break }
            }
            guard let owner = granted else { return XCTFail("nobody got the free GPU at \(now)") }
            let length = Double(rng.int(1800...7200))
            now += length
            seconds[String(owner.prefix(1))]! += length
            l.release(owner, now: now)
        }
        let b = seconds["b"]! / (seconds["a"]! + seconds["b"]!)
        XCTAssertEqual(b, 2.0 / 3, accuracy: 0.05, "share 2 got \(b) of the one GPU")
    }
}
