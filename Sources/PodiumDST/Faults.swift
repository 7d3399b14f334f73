#if canImport(Glibc)
import Glibc
#endif
import PodiumCoordinator
import PodiumCore
import PodiumStore

/// The seeded fault schedule and what each fault does to the simulated world.
extension Simulation {
    func scheduleFaults() {
        let window = faultWindow
        func at() -> Double { rng.uniform(60, window) }
        func somePlace() -> String { placeNames[rng.int(0...(placeNames.count - 1))] }
        let lost = sweeps[0].config.lostAfter
        // Swarm mode: this seed's own mix, a multiplier per kind (0: left out, 1, or 3).
        var mix = [String: Int]()
        if options.swarm {
            for k in ["disconnect", "partition", "long_partition", "daemon_restart", "reboot", "death", "crash", "persist", "cancel", "retry", "damage"] {
                let roll = rng.uniform(0, 1)
                mix[k] = roll < 0.3 ? 0 : roll < 0.8 ? 1 : 3
            }
        }
        func n(_ kind: String, _ range: ClosedRange<Int>) -> Int { rng.int(range) * (mix[kind] ?? 1) }
        func maybe(_ kind: String, _ p: Double) -> Int { (rng.chance(p) ? 1 : 0) * (mix[kind] ?? 1) }
        // Faults of places befall every coordinator connected there.
        for _ in 0..<n("disconnect", 0...5) { queue.push(.fault(.disconnect(somePlace()), c: 0), at: at()) }
        for _ in 0..<n("partition", 0...3) { queue.push(.fault(.partition(somePlace(), rng.uniform(5, lost * 0.8)), c: 0), at: at()) }
        for _ in 0..<n("long_partition", 0...2) { queue.push(.fault(.partition(somePlace(), rng.uniform(lost * 1.2, lost * 6)), c: 0), at: at()) }
        for _ in 0..<n("daemon_restart", 0...2) { queue.push(.fault(.daemonRestart(somePlace()), c: 0), at: at()) }
        for _ in 0..<maybe("reboot", 0.3) { queue.push(.fault(.reboot(somePlace()), c: 0), at: at()) }
        for _ in 0..<maybe("death", 0.3) { queue.push(.fault(.death(somePlace()), c: 0), at: at()) }
        // Each coordinator crashes, fails a commit, gets operator requests and damaged logs of its own.
        for c in sweeps.indices {
            let order = sweeps[c].store.order
            func someRun() -> String { order[rng.int(0...(order.count - 1))] }
            for _ in 0..<n("crash", 0...3) { queue.push(.fault(.crash, c: c), at: at()) }
            for _ in 0..<maybe("persist", 0.3) { queue.push(.fault(.persistFailure, c: c), at: at()) }
            for _ in 0..<n("cancel", 0...2) { queue.push(.fault(.cancel(someRun()), c: c), at: at()) }
            for _ in 0..<n("retry", 0...2) { queue.push(.fault(.retry(someRun()), c: c), at: at()) }
            for _ in 0..<n("damage", 0...2) { queue.push(.fault(.damageLog, c: c), at: at()) }
            // A drained place comes back only when the sweep is started again, as its message tells the operator.
            var t = window
            while t < options.deadline { queue.push(.fault(.restartIfDrained, c: c), at: t); t += 6 * 3600 }
        }
    }

    /// `podium simulate`'s node failures: each place fails after an exponential time with mean `nodeMTBFHours`, loses
    /// its attempts and is away `repairHours`, again and again.
    func scheduleFailures() {
        guard let w = workload, w.nodeMTBFHours > 0 else { return }
        let horizon = options.deadline
        for name in placeNames {
            var t = 0.0
            while true {
                t += -Glibc.log(1 - rng.uniform(0, 1)) * w.nodeMTBFHours * 3600
                guard t < horizon else { break }
                queue.push(.fault(.fail(name, w.repairHours * 3600), c: 0), at: t)
                t += w.repairHours * 3600
            }
        }
    }

    func inject(_ f: Fault) {
        if case .restartIfDrained = f {
            guard let i = instance, !i.drained.isEmpty, !store.runs.values.allSatisfy({ $0.state.isTerminal }) else { return }
        }
        faults += 1
        count("fault", f)
        log("FAULT \(f)" + (sweeps.count > 1 ? " (coordinator \(cur))" : ""))
        switch f {
        case .disconnect(let p):
            closeAllConnections(p, notify: true)
        case .partition(let p, let seconds):
            closeAllConnections(p, notify: true)
            places[p]!.unreachableUntil = max(places[p]!.unreachableUntil, now + seconds)
        case .daemonRestart(let p):
            // Attempts run on (containers are taken over, their resources held again); the new daemon follows each log
            // from the file's end.
            closeAllConnections(p, notify: true)
            for k in places[p]!.attempts.keys { places[p]!.attempts[k]!.followerPos = places[p]!.attempts[k]!.logBytes }
        case .reboot(let p):
            // Daemon, agents and work directory gone.
            closeAllConnections(p, notify: true)
            places[p]!.attempts.removeAll()
            places[p]!.seenEpoch.removeAll()
            places[p]!.ledger = Place(name: p, gpus: places[p]!.gpus).ledger
            places[p]!.unreachableUntil = now + rng.uniform(60, 900)
        case .fail(let p, let away):
            closeAllConnections(p, notify: true)
            places[p]!.attempts.removeAll()
            places[p]!.seenEpoch.removeAll()
            places[p]!.ledger = Place(name: p, gpus: places[p]!.gpus).ledger
            places[p]!.unreachableUntil = now + away
        case .death(let p):
            guard places.values.filter({ !$0.dead }).count > 1 else { return }
            closeAllConnections(p, notify: true)
            places[p]!.dead = true
        case .crash:
            crash("injected")
        case .persistFailure:
            persistFailArmed = true
        case .cancel(let runID):
            requestSeq += 1
            store.requests.append((requestSeq, runID, .cancel, false))
        case .retry(let runID):
            requestSeq += 1
            store.requests.append((requestSeq, runID, .retry, false))
        case .damageLog:
            // Bytes of a live attempt's central copy overwritten: collection must find it and fetch the log whole.
            guard let r = store.order.compactMap({ store.runs[$0] }).first(where: { $0.state == .running }) else { return }
            let key = AttemptKey(r.id, r.epoch)
            if store.logLength(key) > 0 { store.logs[key, default: []].append((0, 128, "damaged")) }
        case .restartIfDrained:
            crash("the operator starts the sweep again to bring drained places back")
        }
    }
}
