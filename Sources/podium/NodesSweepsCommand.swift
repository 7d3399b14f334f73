import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodiumCoordinator
import PodiumCore
import PodiumProtocol
import PodiumReport
import PodiumSystem

/// Where an operator's connection to a node's daemon finds it.
struct DaemonOption: ParsableArguments {
    @Option(help: "The daemon's work directory on the node (default: the inventory's work_dir, else the transport's default).")
    var workDir: String?

    func resolve(_ node: NodeSpec, inventoryArgument: String?) throws -> String {
        if let workDir { return workDir }
        let stateDir = inventoryArgument.flatMap { SweepConfig.sweepShape(path: $0) != nil ? try? SweepConfig.load(path: $0) : nil }
            .map { directoryOf($0.state) }
        return try NodeAdmin.workDir(node, stateDir: stateDir)
    }
}

extension Nodes {
    struct Sweeps: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The sweeps that hold attempts or uncollected results on a node, asked of its daemon: live and finished attempts, bytes, and when each sweep's coordinator was last there.")
        @Argument(help: "Node name.") var node: String
        @OptionGroup var inv: InventoryOption
        @OptionGroup var daemon: DaemonOption
        @Option(help: "text or json.") var format: OutputFormat = .text

        func run() throws {
            let n = try inv.node(node)
            let dir = try daemon.resolve(n, inventoryArgument: inv.inventory)
            let reply = try NodeAdmin.ask(n, workDir: dir, workerCommand: [workerExecutable()], stderrPath: "/dev/null", .sweeps, timeout: 60) {
                if case .sweeps = $0 { return true }; return false
            }
            guard case .sweeps(let list) = reply else { return }
            if format == .json { try printJSON(list.map(Row.init)); return }
            if list.isEmpty { print("node \(node) holds no sweep's attempts"); return }
            let now = wallClockSeconds()
            print(TextTable.render(header: ["sweep id", "sweep", "live", "finished", "bytes", "coordinator"], rows: list.map { h in
                [h.id, h.sweep, String(h.live), String(h.finished), formatBytes(h.bytes),
                 h.connected ? "connected" : h.lastSeen.map { "away \(BudgetDuration(seconds: Int(max(0, now - $0)))) (last seen \(formatUTC($0)))" } ?? "unknown"]
            }))
            let stale = list.filter { !$0.connected && ($0.lastSeen.map { now - $0 > 24 * 3600 } ?? true) }
            for h in stale {
                print("sweep \(h.id) has not connected for over a day; if its coordinator will not come back: podium nodes clean \(node) --sweep \(h.id)")
            }
        }

        struct Row: Encodable {
            var id, sweep: String
            var live, finished: Int
            var bytes: Int64
            var connected: Bool
            var last_seen: Double?
            init(_ h: SweepHolding) {
                id = h.id; sweep = h.sweep; live = h.live; finished = h.finished; bytes = h.bytes; connected = h.connected; last_seen = h.lastSeen
            }
        }
    }

    struct Clean: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove what one sweep left on a node: stop its live attempts and delete its attempt directories (results it never collected are lost). Only on request: podium never does it by itself.")
        @Argument(help: "Node name.") var node: String
        @Option(help: "The sweep id on the node, as `podium nodes sweeps NODE` lists it.") var sweep: String
        @OptionGroup var inv: InventoryOption
        @OptionGroup var daemon: DaemonOption

        func run() throws {
            let n = try inv.node(node)
            let dir = try daemon.resolve(n, inventoryArgument: inv.inventory)
            let reply = try NodeAdmin.ask(n, workDir: dir, workerCommand: [workerExecutable()], stderrPath: "/dev/null", .clean(sweep: sweep), timeout: 300) {
                if case .cleaned = $0 { return true }; return false
            }
            guard case .cleaned(let id, let stopped, let removed, let bytes) = reply else { return }
            print("node \(node): sweep \(id) cleaned up: \(stopped) live attempt(s) stopped, \(removed) attempt directories (\(formatBytes(bytes))) deleted")
        }
    }
}
