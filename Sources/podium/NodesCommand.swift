import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import PodiumCoordinator
import PodiumCore
import PodiumStore
import PodiumReport
import PodiumSSH
import PodiumWorker
import PodiumSystem

struct Nodes: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check, enroll and reach worker nodes (SSH with verified host keys).",
        subcommands: [List.self, Check.self, Add.self, Sweeps.self, Clean.self, Exec.self, Fetch.self, Push.self, PushImage.self],
        defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The inventory's nodes, with what each data cache holds, stages and has free (from the sweep's state).")
        @Argument(help: "Sweep file (default: scheduler.json).") var config: String?
        @Option(help: "State file (default: the sweep file's).") var state: String?
        @Option(help: "text or json.") var format: OutputFormat = .text

        struct Row: Encodable {
            var node: String
            var transport: String
            var gpus: Int
            var cpus: Double
            var memory_bytes: Int64
            var data_cache: String?
            var cache: DataCacheView?
            /// Sweeps sharing the node, as its daemon last told this sweep's coordinator.
            var sharing: NodeShareView?
        }

        func run() throws {
            let file = config ?? "scheduler.json"
            let sweep = try SweepConfig.load(path: file)
            let inventory = try Inventory.load(path: sweep.inventory)
            let statePath = state.map { resolvePath($0, relativeTo: FileManager.default.currentDirectoryPath) } ?? sweep.state
            let store = FileManager.default.fileExists(atPath: statePath) ? try StateStore(path: statePath) : nil
            let caches = try store.map { try DataCacheView.all(store: $0, inventoryPath: sweep.inventory) } ?? []
            let shares = try store.map { try NodeShareView.all(store: $0, sweep: sweep.sweep).filter(\.shared) } ?? []
            let rows = inventory.nodes.map { n in
                Row(node: n.name, transport: n.transport.rawValue, gpus: n.gpus, cpus: n.cpus, memory_bytes: n.memoryBytes,
                    data_cache: n.dataCache.map { "\($0.path) (\(formatBytes($0.maxBytes)), from \($0.source.text))" },
                    cache: caches.first { $0.node == n.name }, sharing: shares.first { $0.node == n.name })
            }
            if format == .json { try printJSON(rows); return }
            print(TextTable.render(header: ["node", "transport", "gpus", "cpus", "memory", "data cache"], rows: rows.map {
                [$0.node, $0.transport, String($0.gpus), fixed($0.cpus, 1), formatMemory($0.memory_bytes), $0.data_cache ?? "- (holds data_dir)"]
            }))
            let used = caches.filter { c in inventory.nodes.contains { $0.name == c.node } }
            if !used.isEmpty { print(DataCacheView.table(used)) }
            for s in shares { print(s.line) }
        }
    }

    struct InventoryOption: ParsableArguments {
        @Option(help: "Inventory file, or a sweep file (its inventory is used) (default: the inventory of ./scheduler.json, else workers/local.json).")
        var inventory: String?

        var path: String {
            if let inventory {
                // A sweep file, as every other command takes it: its inventory.
                if SweepConfig.sweepShape(path: inventory) != nil, let c = try? SweepConfig.load(path: inventory) {
                    return c.inventory
                }
                return inventory
            }
            if let c = try? SweepConfig.load(path: "scheduler.json") { return c.inventory }
            return "workers/local.json"
        }

        func node(_ name: String) throws -> NodeSpec {
            let inv = try Inventory.load(path: path)
            guard let n = inv.nodes.first(where: { $0.name == name }) else {
                throw ConfigError(file: path, path: "NODE", found: "no node '\(name)'", expected: "one of \(inv.nodes.map(\.name).joined(separator: ", "))",
                                  fix: nearest(name, in: inv.nodes.map(\.name)).map { "did you mean '\($0)'?" })
            }
            return n
        }
    }

    static func session(_ node: NodeSpec) throws -> SSHSession {
        guard node.transport == .ssh else {
            throw ConfigError(path: "NODE", found: "node '\(node.name)' uses the local transport", expected: "an ssh node")
        }
        return try SSHSession(target: SSHTarget.from(node: node))
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Connect to every node and report OS, CPUs, memory, disk, GPUs, Docker, worker, clock skew; compare them with what the inventory declares.",
            discussion: "A node fails when it declares more GPUs, CPUs, memory or disk than it has (unless `oversubscribe: true`), lacks an --image, has no worker or Docker Engine, or its clock is off by more than 5 s. Exit 1 when any node fails.")
        @OptionGroup var inv: InventoryOption
        @Option(name: .customLong("image"), help: "Also check that this image is on every Docker node (repeatable).") var images: [String] = []
        @Option(help: "text or json.") var format: OutputFormat = .text

        func run() throws {
            let inventory = try Inventory.load(path: inv.path)
            let reports = NodeProbe.checkAll(inventory.nodes, localWorker: [workerExecutable()], images: images)
            if format == .json { try printJSON(reports) } else {
                func gib(_ b: Int64?) -> String { b.map(formatMemory) ?? "-" }
                print(TextTable.render(
                    header: ["node", "ok", "os", "cpus", "memory", "disk free", "gpus", "docker", "worker", "skew s"],
                    rows: reports.map { r in
                        [r.node, r.ok ? "yes" : "NO", r.os ?? "-", r.cpus.map(String.init) ?? "-", gib(r.memory_bytes),
                         gib(r.disk_free_bytes), r.gpus.isEmpty ? "0" : "\(r.gpus.count)", r.docker ?? "-", r.worker ?? "-",
                         r.clock_skew_seconds.map { fixed($0, 3) } ?? "-"]
                    }))
                for r in reports { if let k = r.host_key { print("\(r.node): host key \(k)") } }
                for r in reports {
                    for p in r.slurm_partitions ?? [] {
                        print("\(r.node): slurm partition \(p.name)\(p.is_default ? " (default)" : "") \(p.available): \(p.nodes) node(s), \(p.total_cpus) CPUs, \(p.total_gpus) GPUs (gres), \(p.memory_mb_per_node) MB memory per node")
                    }
                    if let w = r.slurm_work_dir_writable { print("\(r.node): work directory \(w ? "writable" : "NOT writable") from a test job") }
                }
                for r in reports { for n in r.notes { print("\(r.node): note: \(n)") } }
                for r in reports where !r.ok { printError("\(r.node): \(r.error ?? "failed")") }
            }
            if reports.contains(where: { !$0.ok }) { throw ExitCode(1) }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enroll an SSH node: verify (or, with --accept-new-host-key, record) its host key; a new node is added to the inventory with what it has.",
            discussion: """
                A node already in the inventory is enrolled as it is written there (its host key recorded; the inventory is \
                not touched). A new node needs --host; its GPUs, CPUs and memory are probed unless given, and it is \
                inserted into the inventory file as text, so the file's comments, units and paths stay as they were.
                """)
        @Argument(help: "Node name.") var name: String
        @Option(help: "Host name or ~/.ssh/config alias (a new node).") var host: String?
        @Option(help: "SSH port.") var port: Int?
        @Option(help: "User.") var user: String?
        @Option(help: "Private key file (default: ssh-agent).") var identityFile: String?
        @Option(help: "known_hosts file (default: ~/.ssh/known_hosts).") var knownHosts: String?
        @Flag(help: "Record the node's host key if it is unknown (explicit trust; a changed key is still refused).") var acceptNewHostKey = false
        @Option(help: "GPUs the node offers to the scheduler (default: what nvidia-smi finds there).") var gpus: Int?
        @Option(help: "CPUs the node offers (default: its nproc).") var cpus: Double?
        @Option(help: "Memory the node offers, e.g. 512g (default: its MemTotal).") var memory: String?
        @Option(help: "The daemon's work directory on the node, as `workers/install.sh --work-dir` set it (default: /var/lib/podium-worker).")
        var workDir: String?
        @Option(help: "How to start podium-worker there, as words separated by spaces (e.g. \"sudo -n /usr/local/bin/podium-worker\" for a non-root SSH user reaching the root daemon).")
        var workerCommand: String?
        @OptionGroup var inv: InventoryOption

        func run() throws {
            guard isSafeName(name) else { throw ConfigError(path: "NAME", found: "'\(name)'", expected: "letters, digits, '-', '_', '.'") }
            let path = inv.path
            let existing = FileManager.default.fileExists(atPath: path) ? try Inventory.load(path: path) : Inventory(nodes: [])
            if let node = existing.nodes.first(where: { $0.name == name }) {
                let given = [("--host", host != nil), ("--port", port != nil), ("--user", user != nil), ("--identity-file", identityFile != nil),
                             ("--known-hosts", knownHosts != nil), ("--gpus", gpus != nil), ("--cpus", cpus != nil), ("--memory", memory != nil),
                             ("--work-dir", workDir != nil), ("--worker-command", workerCommand != nil)]
                if let flag = given.first(where: { $0.1 })?.0 {
                    throw ConfigError(file: path, path: flag, found: "node '\(name)' is already in the inventory",
                                      expected: "no settings for a node the inventory defines", fix: "edit \(path) to change it, then run `podium nodes add \(name) --accept-new-host-key` again")
                }
                guard node.transport == .ssh else {
                    throw ConfigError(file: path, path: "NAME", found: "node '\(name)' uses the local transport", expected: "an ssh node (a local node needs no enrollment)")
                }
                var target = SSHTarget.from(node: node)
                target.acceptNewHostKey = acceptNewHostKey
                let s = try SSHSession(target: target)
                print("\(name): enrolled \(target.user)@\(target.host):\(target.port), host key \(s.hostKeyFingerprint) (in \(target.knownHosts)); \(path) unchanged")
                s.disconnect()
                return
            }
            guard let host else {
                throw ConfigError(file: path, path: "--host", found: "no node '\(name)' in the inventory and no --host",
                                  expected: "--host for a new node (or the name of a node the inventory has: \(existing.nodes.map(\.name).joined(separator: ", ").ifEmpty("none")))")
            }
            var memoryBytes: Int64?
            if let memory {
                guard let m = parseByteSize(memory), memory.contains(where: \.isLetter) else {
                    throw ConfigError(path: "--memory", found: "'\(memory)'", expected: "a size with its unit, such as 512g")
                }
                memoryBytes = m
            }
            var node = NodeSpec(name: name, transport: .ssh, gpus: gpus ?? 0, cpus: cpus ?? 1, memoryBytes: memoryBytes ?? 0)
            node.host = host
            node.port = port
            node.user = user
            node.identityFile = identityFile.map(absolutePath)
            node.knownHosts = knownHosts.map(absolutePath)
            if let workDir {
                guard workDir.hasPrefix("/") else {
                    throw ConfigError(path: "--work-dir", found: "'\(workDir)'", expected: "an absolute path on the node, such as /var/lib/podium-worker")
                }
                node.workDir = workDir
            }
            if let workerCommand {
                let words = workerCommand.split(separator: " ").map(String.init)
                guard !words.isEmpty else { throw ConfigError(path: "--worker-command", found: "nothing", expected: "a command such as podium-worker") }
                node.workerCommand = words
            }
            var target = SSHTarget.from(node: node)
            target.acceptNewHostKey = acceptNewHostKey
            let s = try SSHSession(target: target)
            print("\(name): connected to \(target.user)@\(target.host):\(target.port), host key \(s.hostKeyFingerprint)")
            s.disconnect()
            // What it has, unless given.
            let probe = NodeProbe.check(node, localWorker: [])
            node.gpus = gpus ?? probe.gpus.count
            node.cpus = cpus ?? Double(probe.cpus ?? 1)
            node.memoryBytes = memoryBytes ?? probe.memory_bytes.map { ($0 >> 30) << 30 } ?? (8 << 30)
            if gpus == nil || cpus == nil || memory == nil {
                print("\(name): probed \(probe.gpus.count) GPU(s), \(probe.cpus.map(String.init) ?? "?") CPUs, \(probe.memory_bytes.map(formatMemory) ?? "? GiB") of memory")
            }
            try InventoryText.append(node, toFile: path)
            print("\(name): added to \(path); `podium nodes check` compares it with the machine")
        }
    }

    struct Exec: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run a command on a node, streaming its stdout and stderr (like `ssh NODE CMD`).")
        @Argument(help: "Node name.") var node: String
        @Argument(parsing: .postTerminator, help: "Command (after --).") var command: [String] = []
        @OptionGroup var inv: InventoryOption

        func run() throws {
            guard !command.isEmpty else { throw ValidationError("give the command after --") }
            let s = try Nodes.session(try inv.node(node))
            defer { s.disconnect() }
            // stdout is written on the session's I/O thread as the channel delivers it (no socket hop: ~15% faster
            // for bulk output, measured with 1 GiB); the local socket then only carries the end of the output.
            let e = try s.exec(command.map(shellQuote).joined(separator: " "), stderrPath: "/dev/stderr", stdoutSink: { writeAll(1, $0) })
            e.closeWrite()
            _ = e.readAll()
            let status = e.waitExit(timeout: 30)
            e.close()
            guard let status else {
                if let err = e.error ?? s.error { throw err }
                throw ExitCode(255)
            }
            if let signal = e.exitSignal { printError("podium: the command on \(node) was killed by SIG\(signal)") }
            if status != 0 { throw ExitCode(status) }
        }
    }

    /// Times one verified transfer and reports it.
    static func transfer(_ node: NodeSpec, _ label: String, _ body: (SSHSession) throws -> SSHSession.TransferResult) throws {
        let s = try session(node)
        defer { s.disconnect() }
        let start = monotonicSeconds()
        let r = try body(s)
        let secs = monotonicSeconds() - start
        printError("\(label): \(r.bytes) bytes\(r.resumedFrom > 0 ? " (resumed: \(r.resumedFrom) of them were already there)" : "") in \(fixed(secs, 2)) s, \(fixed(Double(r.bytes - r.resumedFrom) / 1048576 / max(secs, 1e-9), 1)) MiB/s, sha256 \(r.sha256)")
    }

    struct Fetch: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Copy a file from a node (sha256-verified, resumes an interrupted copy).")
        @Argument(help: "Node name.") var node: String
        @Argument(help: "Path on the node.") var remote: String
        @Argument(help: "Local path.") var local: String
        @Option(help: "Connections to copy over: what is left of the file is split into byte ranges of at least 64 MiB, one per connection (one connection's speed is what one core decrypts); with the default 2, files of 128 MiB or more. 1 copies it as one stream.")
        var streams: Int = 2
        @OptionGroup var inv: InventoryOption

        func validate() throws {
            guard (1...16).contains(streams) else { throw ValidationError("--streams must be between 1 and 16, got \(streams)") }
        }

        func run() throws {
            try Nodes.transfer(try inv.node(node), "\(node):\(remote) → \(local)") { try $0.download(remote: remote, to: local, streams: streams) }
        }
    }

    struct Push: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Copy a file to a node (sha256-verified, resumes an interrupted copy).")
        @Argument(help: "Node name.") var node: String
        @Argument(help: "Local path.") var local: String
        @Argument(help: "Path on the node.") var remote: String
        @OptionGroup var inv: InventoryOption

        func run() throws {
            try Nodes.transfer(try inv.node(node), "\(local) → \(node):\(remote)") { try $0.upload(local: local, to: remote) }
        }
    }

    struct PushImage: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "push-image",
            abstract: "Copy an agent image from this machine's Docker Engine onto nodes (no registry needed): docker save, sha256-verified copy over SSH, docker load, image id checked.")
        @Argument(help: "Image, e.g. aide or podium/baseline-agent:0.1.") var image: String
        @Option(name: .customLong("node"), help: "Node to copy to (repeatable; default: every ssh node of the inventory that runs Docker).") var nodes: [String] = []
        @Flag(help: "Load it again even where the node has the same image id.") var force = false
        @OptionGroup var inv: InventoryOption

        func run() throws {
            let inventory = try Inventory.load(path: inv.path)
            let targets = try nodes.isEmpty ? inventory.nodes.filter { $0.runtime == .docker } : nodes.map { try inv.node($0) }
            let engine = DockerEngine()
            guard let id = try engine.imageID(image) else {
                throw ConfigError(path: "podium nodes push-image \(image)", found: "no image '\(image)' in this machine's Docker Engine", expected: "an image built or loaded here",
                                  fix: "build it first (`docker images` lists what is here)")
            }
            var failed = false
            var saved: String?
            defer { if let saved { try? FileManager.default.removeItem(atPath: saved) } }
            for node in targets {
                if node.transport == .local { print("\(node.name): this machine; \(image) is here (\(id.prefix(19)))"); continue }
                if saved == nil {
                    let path = FileManager.default.temporaryDirectory.path + "/podium-image-\(getpid()).tar"
                    let began = monotonicSeconds()
                    try engine.saveImage(image, to: path)
                    printError("podium: saved \(image) (\(fileSize(path) >> 20) MiB) in \(fixed(monotonicSeconds() - began, 1)) s")
                    saved = path
                }
                do {
                    switch try ImagePush.push(image: image, imageID: id, saved: saved!, to: node, force: force) {
                    case .alreadyThere: print("\(node.name): already has \(image) (\(id.prefix(19)))")
                    case .loaded(let loaded, let bytes, let secs):
                        print("\(node.name): loaded \(image) (\(loaded.prefix(19))), \(bytes >> 20) MiB copied in \(fixed(secs, 1)) s, id verified")
                    }
                } catch {
                    failed = true
                    printError("\(node.name): \(error)")
                }
            }
            if failed { throw ExitCode(1) }
        }
    }
}
