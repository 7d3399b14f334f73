import XCTest
import PodiumCore
import PodiumProtocol
@testable import PodiumWorker
import PodiumSystem

/// Issue 27: sweeps are tenants of one daemon. Before protocol 5 a daemon served one coordinator at a time, listed every
/// attempt to whoever connected, and a second sweep's reconcile fenced the first one's running attempts as "stale".
final class SweepTenantTests: XCTestCase {
    func hello(_ c: PipeConnection, _ tenant: Tenant) throws -> Reply {
        try c.send.send(Request.hello(protocolVersion: podiumProtocolVersion, coordinator: "test \(tenant.id)", tenant: tenant))
        return try c.replies.next(Reply.self)
    }

    /// Replies until one matches (skipping live log chunks and the like).
    func next(_ c: PipeConnection, _ what: String, _ matches: (Reply) -> Bool) throws -> Reply {
        for _ in 0..<500 {
            let r = try c.replies.next(Reply.self)
            if matches(r) { return r }
        }
        XCTFail("no \(what)")
        throw FrameError.closed
    }

    func held(_ c: PipeConnection) throws -> [HeldAttempt] {
        try c.send.send(Request.list)
        guard case .held(let list) = try next(c, "held", { if case .held = $0 { return true }; return false }) else { return [] }
        return list
    }

    func start(_ c: PipeConnection, sweep: String, run: String, dir: String) throws {
        try c.send.send(Request.start(StartRequest(
            runID: run, epoch: 1, sweep: sweep, competition: "c", image: "", command: ["/bin/sh", "-c", "echo up; sleep 60"],
            env: [:], dataDir: dir, budgetSeconds: 120, graceSeconds: 1, snapshotIntervalSeconds: 600, cpus: 1,
            memoryBytes: 1 << 28, shmBytes: 0, gpus: 0, network: false)))
        _ = try next(c, "started", { if case .started(run, 1, _) = $0 { return true }; return false })
    }

    func testTwoSweepsOnOneDaemonNeverSeeOrTouchEachOthersAttempts() throws {
        let dir = makeTempDir("tenants")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = WorkerServer(node: "shared", workDir: dir + "/work", runtime: ProcessRuntime(), version: podiumVersion,
                                  capacity: (4, 1 << 32), stopOnDisconnect: false)
        defer { server.stopAll() }
        let alice = Tenant(id: "aide-24h.0a0a0a0a0a0a", sweep: "aide-24h", generation: 100)
        let bob = Tenant(id: "aide-24h.0b0b0b0b0b0b", sweep: "aide-24h", generation: 100)

        let a = PipeConnection(to: server)
        defer { a.close() }
        guard case .welcome = try hello(a, alice) else { return XCTFail("no welcome for alice") }
        try start(a, sweep: alice.id, run: "r1", dir: dir)

        // Bob's sweep has the same name and (same grid) the same run id: both run, neither sees the other's.
        let b = PipeConnection(to: server)
        defer { b.close() }
        guard case .welcome = try hello(b, bob) else { return XCTFail("no welcome for bob") }
        XCTAssertEqual(try held(b), [], "another sweep's attempt is invisible, never 'stale'")
        try b.send.send(Request.cancel(runID: "r1", epoch: 1))
        try b.send.send(Request.acknowledge(runID: "r1", epoch: 1))
        try start(b, sweep: bob.id, run: "r1", dir: dir)
        // A start that names another sweep's directory is refused.
        try b.send.send(Request.start(StartRequest(
            runID: "r9", epoch: 1, sweep: alice.id, competition: "c", image: "", command: ["/bin/true"], env: [:], dataDir: dir,
            budgetSeconds: 10, graceSeconds: 1, snapshotIntervalSeconds: 600, cpus: 1, memoryBytes: 1 << 28, shmBytes: 0, gpus: 0, network: false)))
        guard case .error(_, let refusal) = try next(b, "refusal", { if case .error = $0 { return true }; return false }) else { return }
        XCTAssertTrue(refusal.contains("not this connection's"), refusal)

        XCTAssertEqual(server.liveCount, 2, "bob's cancel did not reach alice's attempt")
        XCTAssertEqual(try held(a).map { "\($0.runID)#\($0.epoch) \($0.running)" }, ["r1#1 true"])
        XCTAssertEqual(try held(b).map { "\($0.runID)#\($0.epoch) \($0.running)" }, ["r1#1 true"])
        XCTAssertEqual(server.connectionCount, 2, "two sweeps connected at once")

        // A stale coordinator of alice's sweep (started before the connected one) is refused...
        let stale = PipeConnection(to: server)
        defer { stale.close() }
        var old = alice
        old.generation = 99
        guard case .error(_, let why) = try hello(stale, old) else { return XCTFail("a stale coordinator was welcomed") }
        XCTAssertTrue(why.contains("stale"), why)
        // ...a restarted one replaces alice's connection only: bob's stays, alice's old one is told it was replaced.
        let restarted = PipeConnection(to: server)
        defer { restarted.close() }
        var newer = alice
        newer.generation = 101
        guard case .welcome = try hello(restarted, newer) else { return XCTFail("the restarted coordinator was refused") }
        XCTAssertEqual(try held(restarted).map(\.runID), ["r1"])
        try a.send.send(Request.list)
        guard case .error(_, let replaced) = try next(a, "replaced", { if case .error = $0 { return true }; return false }) else { return }
        XCTAssertTrue(replaced.contains("replaced"), replaced)
        XCTAssertEqual(try held(b).map(\.runID), ["r1"], "bob's connection is untouched by alice's reconnect")
        // The generation is kept on disk: a daemon restart still refuses the stale one.
        XCTAssertEqual(server.tenantGeneration(alice.id), 101)
        XCTAssertEqual(server.liveCount, 2)
    }

    /// Two users' sweeps of one name and grid have the same run ids; on one Docker engine their containers must not
    /// collide by name (the second was refused with HTTP 409, an infra error, before names carried the owner's digest).
    func testTwoSweepsWithTheSameRunIDsRunSideBySideInDocker() throws {
        let engine = try requireDocker()
        let dir = makeTempDir("tenants-docker")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let servers = (0..<2).map { i in
            WorkerServer(node: "shared-\(i)", workDir: dir + "/work\(i)", runtime: DockerRuntime(engine: engine), version: podiumVersion,
                         capacity: (4, 1 << 32), stopOnDisconnect: true)
        }
        let tenants = [Tenant(id: "aide-24h.0a0a0a0a0a0a", sweep: "aide-24h", generation: 1),
                       Tenant(id: "aide-24h.0b0b0b0b0b0b", sweep: "aide-24h", generation: 1)]
        var conns = [PipeConnection]()
        defer { for c in conns { c.close() } }
        // Two sweeps on one daemon, and the first sweep again on a second daemon of the same engine.
        for (server, tenant) in [(servers[0], tenants[0]), (servers[0], tenants[1]), (servers[1], tenants[0])] {
            let c = PipeConnection(to: server)
            conns.append(c)
            guard case .welcome = try hello(c, tenant) else { return XCTFail("no welcome") }
            try c.send.send(Request.start(StartRequest(
                runID: "r1", epoch: 1, sweep: tenant.id, competition: "c", image: testImage, command: ["/bin/sh", "-c", "sleep 30"],
                env: [:], dataDir: dir, budgetSeconds: 60, graceSeconds: 1, snapshotIntervalSeconds: 600, cpus: 0.1,
                memoryBytes: 64 << 20, shmBytes: 1 << 20, gpus: 0, network: false)))
            _ = try next(c, "started", { if case .started("r1", 1, _) = $0 { return true }; return false })
        }
        // All three get a container (a name conflict would refuse the second and third: an infra error, no container).
        var mine = [(id: String, labels: [String: String])]()
        let until = monotonicSeconds() + 60
        repeat {
            mine = ((try? engine.list(label: "podium.run=r1")) ?? []).filter { c in servers.contains { $0.daemonID == c.labels["podium.daemon"] } }
            if mine.count >= 3 { break }
            sleepSeconds(0.1)
        } while monotonicSeconds() < until
        XCTAssertEqual(mine.count, 3, "three containers of run r1 epoch 1, one per daemon and sweep")
        XCTAssertEqual(servers[0].liveCount, 2)
        XCTAssertEqual(servers[1].liveCount, 1)
        for s in servers { s.stopAll() }
    }
}
