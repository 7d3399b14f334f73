import PodiumCore
import PodiumProtocol
import PodiumScheduler
import PodiumStore

/// Places coming and going: connection, reconciliation of what a place holds, backoff, `lost_after`, draining.
extension CoordinatorInstance {
    mutating func connect(_ name: String) {
        guard var p = places[name], !p.connecting, !p.connected else { return }
        p.connecting = true
        p.everTried = true
        p.reconnectAt = nil
        places[name] = p
        out.append(.connect(place: name))
    }

    mutating func placeConnected(_ name: String, generation: Int, offer: PlaceOffer, now: Double) {
        guard var p = places[name] else { return }
        let wasDown = p.downSince != nil
        p.generation = generation
        p.connecting = false
        p.reconciled = false
        p.offer = offer
        p.downSince = nil
        p.lostDeclared = false
        p.reconnectAt = nil
        p.reconnectDelay = config.reconnectInitial
        p.load = nil
        p.demandSent = nil
        places[name] = p
        down.remove(name)
        if startupOpen {
            // Startup is over with a node up: the ones that failed so far are now retried, and said so once.
            startupOpen = false
            for other in placeOrder where down.contains(other) {
                if let f = initialFailures.first(where: { $0.hasPrefix("\(other): ") }) {
                    out.append(.warn("podium: node \(other) is unreachable (\(f.dropFirst(other.count + 2))); retrying; its attempts are requeued if it stays away for \(BudgetDuration(seconds: Int(config.lostAfter)))"))
                }
            }
        }
        // Place against the GPUs the worker found (or its declared stand-in slots), not only the inventory's word.
        let gpus = offer.gpus ?? p.spec.capacity.gpus
        if gpus != p.spec.capacity.gpus {
            out.append(.warn("podium: node \(name): the inventory declares \(p.spec.capacity.gpus) GPU(s), the worker has \(gpus); using \(gpus)"))
        }
        let (model, modelWarning) = effectiveGPUModel(declared: p.spec.gpuModel, reported: offer.gpuModel)
        if let modelWarning {
            out.append(.warn("podium: node \(name): \(modelWarning)"))
            out.append(.record(kind: "gpu_model_mismatch", detail: "\(name): \(modelWarning)"))
        }
        out.append(.record(kind: "node_up", detail: "\(name): worker \(offer.workerVersion), runtime \(offer.runtime), \(gpus) GPU(s)"))
        if wasDown { out.append(.warn("podium: node \(name) is back")) }
        var capacity = p.spec.capacity
        capacity.gpus = gpus
        // Known, but no new work until its `.held` answer is matched with the state (its live attempts hold resources).
        schedule(.nodeKnown(name: name, capacity: capacity, gpuModel: model), now: now)
        if p.spec.dataCacheBytes != nil { schedule(.dataCache(node: name, maxBytes: p.spec.dataCacheBytes), now: now) }
        out.append(.send(place: name, .list))
    }

    /// A connection attempt failed (generation nil) or an open connection ended: no new work goes there, reconnection
    /// is tried with backoff, and only after `lost_after` are its attempts declared lost (they may well run on).
    mutating func placeUnreachable(_ name: String, generation: Int?, reason: String, now: Double) {
        guard var p = places[name] else { return }
        if let generation, generation != p.generation { return }  // a late notice about an older connection
        if generation == nil {
            p.connecting = false
            if startupOpen {
                initialFailures.append("\(name): \(reason)")
                out.append(.warn("podium: node \(name): \(reason)"))
            }
        }
        p.generation = nil
        p.reconciled = false
        down.insert(name)
        if p.downSince == nil {
            p.downSince = now
            // While no node has answered yet, "retrying" could be followed at once by "no node could be reached": the
            // failure is said once (above), and "retrying" only once a node is up (placeConnected).
            if !startupOpen {
                out.append(.warn("podium: node \(name) is unreachable (\(reason)); retrying; its attempts are requeued if it stays away for \(BudgetDuration(seconds: Int(config.lostAfter)))"))
            }
            out.append(.record(kind: "node_down", detail: "\(name): \(reason)"))
        }
        p.reconnectAt = now + p.reconnectDelay
        p.reconnectDelay = min(p.reconnectDelay * 2, config.reconnectMax)
        places[name] = p
        schedule(.nodeDown(name: name), now: now)
        unstageRuns(on: name, reason: "node \(name) is unreachable (\(reason)); placed again", now: now)
        if startupOpen && places.values.allSatisfy({ $0.everTried && !$0.connecting && !$0.connected }) {
            startupOpen = false
            out.append(.abort("no node could be reached:\n  " + initialFailures.joined(separator: "\n  ")))
        }
    }

    /// Requeues the attempts of places silent for longer than `lost_after`; reconnects places whose retry is due.
    mutating func tendPlaces(now: Double) {
        for name in placeOrder where down.contains(name) {
            guard let p = places[name], let since = p.downSince else { continue }
            if now - since >= config.lostAfter {
                places[name]!.lostDeclared = true
                let waited = "node \(name) unreachable for \(Int(now - since)) s (lost_after \(BudgetDuration(seconds: Int(config.lostAfter))))"
                for r in runs(on: name, where: { $0.state.hasLiveAttempt && $0.node == name }) {
                    finishAttempt(r, outcome: .lost, result: nil, detail: "\(waited); requeued", now: now)
                }
                // An ended attempt whose artifacts sit on the silent place: a new attempt rather than a sweep that never ends.
                for r in runs(on: name, where: { $0.state == .collecting }) {
                    finishAttempt(r, outcome: .lost, result: nil, detail: "\(waited) before its artifacts were collected; requeued", now: now)
                }
            }
            if let at = p.reconnectAt, at <= now { connect(name) }
        }
    }

    /// A place that reported a fault of its own (disk full) gets no new work for the rest of this coordinator run;
    /// its live attempts go on. Freeing the space and running `podium sweep` again brings it back.
    mutating func drain(_ name: String, reason: String, remedy: String = "free the space and run the sweep again", now: Double) {
        guard drained.insert(name).inserted else { return }
        schedule(.nodeDown(name: name), now: now)
        unstageRuns(on: name, reason: "node \(name) drained (\(reason)); placed again", now: now)
        out.append(.warn("podium: node \(name) drained: \(reason); no new work goes there this run; \(remedy)"))
        out.append(.record(kind: "node_drained", detail: "\(name): \(reason)"))
    }

    /// Matches what one place holds with the state (whenever its connection opens). Live attempts of the current epoch
    /// are adopted (resources held, log streamed from the central copy's end), finished ones are collected, attempts
    /// the place does not hold are lost (requeued with a higher epoch), and attempts the state does not expect are
    /// fenced (cancelled) or cleaned up. Then the place takes new work.
    mutating func reconcile(_ name: String, held: [HeldAttempt], now: Double) {
        var finishedNow = [(String, AttemptResult)]()
        for r in runs(on: name, where: { $0.state.hasLiveAttempt && ($0.node ?? name) == name }) {
            guard let h = held.first(where: { $0.runID == r.id && $0.epoch == r.epoch }) else {
                finishAttempt(r, outcome: .lost, result: nil, detail: "node \(name) does not hold attempt \(r.epoch) any more; it is requeued", now: now)
                continue
            }
            if r.state == .dispatched { transition(r.id, .started, detail: "adopted on reconnection") }
            let q = queued(r)
            schedule(.adopt(runID: r.id, node: name, needs: q.needs, data: q.dataBytes > 0 ? q.competition : nil, dataBytes: q.dataBytes),
                     now: now)
            let key = AttemptKey(r.id, r.epoch)
            let central = logBytes[key] ?? 0
            out.append(.send(place: name, .streamLog(runID: r.id, epoch: r.epoch, from: central)))
            out.append(.record(kind: "adopted", runID: r.id, epoch: r.epoch,
                               detail: "\(h.running ? "running" : "finished") on \(name); log resumes at byte \(central)"))
            if !h.running, let result = h.result { finishedNow.append((r.id, result)) }
        }
        // Attempts the state does not expect: fence live ones, clean up finished ones nobody will collect.
        data.stopping[name] = nil
        for h in held {
            let r = runs[h.runID]
            let expected = r.map { $0.epoch == h.epoch && ($0.state.hasLiveAttempt || $0.state == .collecting) } ?? false
            if expected { continue }
            if h.running {
                if let c = r?.spec.competition { data.stopping[name, default: [:]][AttemptKey(h.runID, h.epoch)] = c }
                out.append(.send(place: name, .cancel(runID: h.runID, epoch: h.epoch)))
                out.append(.record(kind: "fenced", runID: h.runID, epoch: h.epoch, detail: "stale attempt on \(name) cancelled"))
            } else if r == nil || r!.epoch != h.epoch || r!.state.isTerminal {
                out.append(.send(place: name, .acknowledge(runID: h.runID, epoch: h.epoch)))
            }
        }
        for (id, result) in finishedNow {
            if let r = runs[id], r.state.hasLiveAttempt { finishAttempt(r, outcome: result.outcome, result: result, detail: result.message, now: now) }
        }
        // Attempts that ended but whose artifacts were not all in when the connection broke (or the coordinator
        // stopped): ask again now that the place is back.
        for r in runs(on: name, where: { $0.state == .collecting && ($0.node ?? name) == name }) {
            let key = AttemptKey(r.id, r.epoch)
            if held.contains(where: { $0.runID == r.id && $0.epoch == r.epoch }) {
                if collections[key].map({ $0.pendingChecks == 0 }) ?? true {
                    collections[key] = Collection()
                    requestArtifacts(r)
                } else {
                    collections[key]?.askAgain = true  // the checks out now touch the files a new pass would write
                }
            } else {
                finishAttempt(r, outcome: .lost, result: nil, detail: "node \(name) no longer holds attempt \(r.epoch)'s artifacts; a new attempt runs", now: now)
            }
        }
        guard var p = places[name], p.connected, !p.reconciled else { return }
        p.reconciled = true
        places[name] = p
        guard !drained.contains(name) else { return }
        let (model, _) = effectiveGPUModel(declared: p.spec.gpuModel, reported: p.offer?.gpuModel)
        schedule(.nodeUp(name: name, capacity: offered(p), gpuModel: model), now: now)
    }

    /// What a place offers this sweep: the inventory's capacity (with the GPUs its worker found), and on a node shared
    /// with other sweeps no more than what this sweep holds there plus what the daemon would grant it now.
    func offered(_ p: PlaceState) -> Resources {
        var capacity = p.spec.capacity
        capacity.gpus = p.offer?.gpus ?? capacity.gpus
        guard let l = p.load else { return capacity }
        return capacity.meet(l.mine + l.available)
    }

    /// The daemon pushed the node's load: placement offers only what fits beside the other sweeps' attempts.
    mutating func nodeLoad(_ name: String, _ load: NodeLoad, now: Double) {
        guard var p = places[name], p.connected else { return }
        p.load = load
        places[name] = p
        guard p.reconciled, !drained.contains(name) else { return }
        schedule(.resize(name: name, capacity: offered(p)), now: now)
    }

    /// Tells each connected daemon how many runs wait (fair share holds freed room only for sweeps that have some).
    mutating func tellDemand() {
        let waiting = counts[.pending] ?? 0
        for name in placeOrder {
            guard let p = places[name], p.connected, p.reconciled, p.load != nil, p.demandSent != waiting else { continue }
            places[name]!.demandSent = waiting
            out.append(.send(place: name, .demand(waiting: waiting, smallest: smallestNeed)))
        }
    }

    /// The component-wise smallest need of the sweep's profiles.
    var smallestNeed: ResourceAmount {
        let all = config.needs.values.map(\.resources)
        guard let first = all.first else { return .zero }
        return all.dropFirst().reduce(first) { $0.meet($1) }
    }
}

/// The GPU model placement uses for a node: the one its worker found with nvidia-smi when it reports one (runs that
/// ask for a model must not land on another because an inventory line was wrong), else the inventory's. The second
/// value says what disagreed, for the operator (an inventory's "H100" agrees with "NVIDIA H100 80GB HBM3": models
/// match as case-insensitive substrings, as profiles' `gpu_model` do).
func effectiveGPUModel(declared: String?, reported: String?) -> (String?, String?) {
    guard let reported else { return (declared, nil) }
    if let declared, !gpuModelMatches(required: declared, offered: reported) {
        return (reported, "the inventory says gpu_model '\(declared)', nvidia-smi on the node says '\(reported)'; placing by '\(reported)' — fix the inventory")
    }
    return (reported, nil)
}
