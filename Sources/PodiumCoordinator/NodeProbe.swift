#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodiumCore
import PodiumSSH
import PodiumSystem
import PodiumReport

/// What `podium nodes check` learns about a node: reachability, host key, OS, resources, GPUs, Docker, worker, clock.
public struct NodeReport: Codable, Sendable {
    public var node: String
    public var transport: String
    public var ok: Bool
    public var error: String?
    /// What kind of SSH failure `error` is, where it needs a person: "host_key_changed", "host_key_unknown", "auth".
    public var error_kind: String?
    public var host_key: String?
    public var os: String?
    public var cpus: Int?
    public var memory_bytes: Int64?
    public var disk_free_bytes: Int64?
    public var gpus: [String]
    public var docker: String?
    public var worker: String?
    public var clock_skew_seconds: Double?
    /// Images asked about → the node's image id, or nil when the node does not have it.
    public var images: [String: String?] = [:]
    /// Declared (inventory) against measured (the probe): every difference, in words.
    public var mismatches: [String] = []
    /// Differences that do not fail the node (stand-in GPU slots, declared oversubscription).
    public var notes: [String] = []
    /// Work directories of the podium-worker daemons running there now (from their command lines).
    public var daemon_work_dirs: [String] = []
    /// A Slurm target: the cluster's partitions as `sinfo` lists them, and whether a test job could write to the
    /// work directory (the shared filesystem) from a compute node.
    public var slurm_partitions: [SlurmPartition]?
    public var slurm_work_dir_writable: Bool?
}

/// One partition as `sinfo` reports it (CPUs and memory per node; `gpus` from its gres, per node).
public struct SlurmPartition: Codable, Sendable, Equatable {
    public var name: String
    public var available: String
    public var nodes: Int
    public var cpus_per_node: Int
    public var memory_mb_per_node: Int64
    public var gpus_per_node: Int
    public var is_default: Bool
    public var total_cpus: Int { nodes * cpus_per_node }
    public var total_gpus: Int { nodes * gpus_per_node }

    /// Lines of `sinfo -h -o '%P|%a|%D|%c|%m|%G'`.
    public static func parse(_ lines: [String]) -> [SlurmPartition] {
        lines.compactMap { line in
            let f = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard f.count >= 6 else { return nil }
            let isDefault = f[0].hasSuffix("*")
            let name = isDefault ? String(f[0].dropLast()) : f[0]
            // gres "gpu:2", "gpu:a100:4(S:0-1)", "(null)": the count after the last ':' of each gpu entry.
            var gpus = 0
            for g in f[5].split(separator: ",") where g.hasPrefix("gpu") {
                let spec = g.split(separator: "(").first ?? g
                gpus += Int(spec.split(separator: ":").last ?? "") ?? 0
            }
            return SlurmPartition(name: name, available: f[1], nodes: Int(f[2]) ?? 0, cpus_per_node: Int(f[3].filter(\.isNumber)) ?? 0,
                                  memory_mb_per_node: Int64(f[4].filter(\.isNumber)) ?? 0, gpus_per_node: gpus, is_default: isDefault)
        }
    }
}

public enum NodeProbe {
    /// Shell run on the node; one `key=value` per line.
    /// A Slurm target's check, run after the probe (its test job takes a while; the clock reading comes first).
    static func slurmScript(workDir: String, slurm: SlurmSettings) -> String {
        var slurmLines = ""
        do {
            // The partitions, then a one-minute test job that writes into the work directory from a compute node.
            let conf = slurm.conf.map { "export SLURM_CONF=\(shellQuote($0)); " } ?? ""
            let marker = workDir + "/.podium-slurm-check"
            let part = slurm.partition.map { " --partition=" + shellQuote($0) } ?? ""
            slurmLines = """
            \(conf)sinfo -h -o '%P|%a|%D|%c|%m|%G' 2>/dev/null | sed 's/^/slurm=/'
            mkdir -p \(shellQuote(workDir)) && rm -f \(shellQuote(marker))
            timeout 25 sbatch --wait --quiet --time=1 --output=/dev/null\(part) --job-name=podium-check --wrap \(shellQuote("touch " + shellQuote(marker))) >/dev/null 2>&1
            [ -f \(shellQuote(marker)) ] && echo "slurmwrite=1" || echo "slurmwrite=0"; rm -f \(shellQuote(marker))

            """
        }
        return slurmLines
    }

    static func script(workDir: String, worker: [String], images: [String] = []) -> String {
        let w = worker.map(shellQuote).joined(separator: " ")
        let imageLines = images.map { "printf 'image=%s:%s=%s\\n' \($0.utf8.count) \(shellQuote($0)) \"$(docker image inspect --format '{{.Id}}' \(shellQuote($0)) 2>/dev/null)\"" }
        return imageLines.joined(separator: "\n") + "\n" + """
        echo "os=$(uname -sr)"; echo "cpus=$(nproc)"
        echo "memkb=$(awk '/MemTotal/ {print $2}' /proc/meminfo)"
        d=\(shellQuote(workDir)); while [ ! -d "$d" ]; do d=$(dirname "$d"); done
        echo "disk=$(df -PB1 "$d" | awk 'NR==2 {print $4}')"
        command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=index,name,uuid --format=csv,noheader 2>/dev/null | sed 's/^/gpu=/'
        echo "docker=$(docker version --format '{{.Server.Version}}' 2>/dev/null)"
        echo "worker=$(\(w) --version 2>/dev/null)"
        echo "time=$(date +%s.%N)"
        for f in /proc/[0-9]*/cmdline; do c=$(tr '\\0' '\\037' < "$f" 2>/dev/null) || continue
          case "$c" in *podium-worker*daemon*) printf 'daemon=%s\\n' "$c";; esac; done
        """
    }

    /// Every node at once (one thread each: an unreachable node costs its connect timeout once, not once per node).
    public static func checkAll(_ nodes: [NodeSpec], localWorker: [String], images: [String] = []) -> [NodeReport] {
        let results = Locked<[Int: NodeReport]>([:])
        let done = BlockingQueue<Bool>()
        for (i, n) in nodes.enumerated() {
            BlockingThread.start {
                let r = check(n, localWorker: localWorker, images: images)
                results.withLock { $0[i] = r }
                done.push(true)
            }
        }
        for _ in nodes { _ = done.pop(timeout: 3600) }
        return results.withLock { r in nodes.indices.map { r[$0]! } }
    }

    public static func check(_ node: NodeSpec, localWorker: [String], images: [String] = []) -> NodeReport {
        var r = NodeReport(node: node.name, transport: node.transport.rawValue, ok: false, gpus: [])
        let workDir = node.workDir ?? "/var/lib/podium-worker"
        let worker = node.workerCommand ?? (node.transport == .local ? localWorker : ["podium-worker"])
        let probe = script(workDir: workDir, worker: worker, images: node.runtime == .docker ? images : [])
        let slurmProbe = node.runtime == .slurm ? slurmScript(workDir: workDir, slurm: node.slurm ?? SlurmSettings()) : nil
        var sinfo = [String]()
        var slurmOutput = ""
        let before = wallClockSeconds()
        var after = before
        let output: String
        switch node.transport {
        case .local:
            guard let (code, out) = ChildProcess.capture(["/bin/sh", "-c", probe]), code == 0 else {
                r.error = "the probe failed on this machine"
                return r
            }
            output = out
            after = wallClockSeconds()
            if let slurmProbe { slurmOutput = ChildProcess.capture(["/bin/sh", "-c", slurmProbe], timeout: 60)?.output ?? "" }
        case .ssh:
            do {
                let s = try SSHSession(target: SSHTarget.from(node: node))
                defer { s.disconnect() }
                r.host_key = s.hostKeyFingerprint
                let (code, out) = try s.run(probe, timeout: 30)
                guard code == 0 else { r.error = "the probe exited with \(code)"; return r }
                output = String(decoding: out, as: UTF8.self)
                after = wallClockSeconds()
                if let slurmProbe { slurmOutput = String(decoding: try s.run(slurmProbe, timeout: 60).output, as: UTF8.self) }
            } catch {
                r.error = "\(error)"
                if let e = error as? SSHError {
                    switch e.kind {
                    case .hostKeyChanged: r.error_kind = "host_key_changed"
                    case .hostKeyUnknown: r.error_kind = "host_key_unknown"
                    case .auth: r.error_kind = "auth"
                    default: break
                    }
                }
                return r
            }
        }
        for line in slurmOutput.split(whereSeparator: \.isNewline) {
            if line.hasPrefix("slurm=") { sinfo.append(String(line.dropFirst(6))) }
            if line.hasPrefix("slurmwrite=") { r.slurm_work_dir_writable = line.hasSuffix("=1") }
        }
        for line in output.split(whereSeparator: \.isNewline) {
            guard let eq = line.firstIndex(of: "=") else { continue }
            let k = String(line[..<eq]), v = String(line[line.index(after: eq)...])
            switch k {
            case "os": r.os = v
            case "cpus": r.cpus = Int(v)
            // kB as /proc/meminfo says it: Debian's mawk printf "%d" stops at 2^31 − 1 (a 24 GiB node read as 2.0 GiB).
            case "memkb": r.memory_bytes = Int64(v).map { $0 * 1024 }
            case "disk": r.disk_free_bytes = Int64(v)
            case "gpu": r.gpus.append(v)
            case "docker": r.docker = v.isEmpty ? nil : v
            case "worker": r.worker = v.isEmpty ? nil : v
            case "daemon":
                let argv = v.split(separator: "\u{1f}").map(String.init)
                if argv.contains("daemon"), let i = argv.firstIndex(of: "--work-dir"), i + 1 < argv.count, !r.daemon_work_dirs.contains(argv[i + 1]) {
                    r.daemon_work_dirs.append(argv[i + 1])
                }
            case "time": if let t = Double(v) { r.clock_skew_seconds = ((t - (before + after) / 2) * 1000).rounded() / 1000 }
            case "image":
                // "<length of name>:<name>=<id or nothing>": the length keeps a name with '=' in it whole.
                guard let colon = v.firstIndex(of: ":"), let n = Int(v[..<colon]) else { break }
                let rest = v[v.index(after: colon)...]
                guard rest.utf8.count > n else { break }
                let name = String(rest.prefix(n)), id = String(rest.dropFirst(n + 1))
                r.images[name] = id.isEmpty ? String?.none : id
            default: break
            }
        }
        if node.runtime == .slurm { r.slurm_partitions = SlurmPartition.parse(sinfo) }
        compare(node, &r)
        var problems = r.mismatches
        if r.worker == nil { problems.append("podium-worker not found (\(worker.joined(separator: " ")))") }
        if node.runtime == .docker && r.docker == nil { problems.append("no reachable Docker Engine") }
        if let skew = r.clock_skew_seconds, abs(skew) > 5 { problems.append("clock skew \(skew) s") }
        for (image, id) in r.images.sorted(by: { $0.key < $1.key }) where id == nil {
            problems.append("image \(image) is not on the node (podium nodes push-image \(image) --node \(node.name))")
        }
        r.ok = problems.isEmpty
        if !problems.isEmpty { r.error = problems.joined(separator: "; ") }
        return r
    }

    /// What the inventory declares against what the probe measured. More declared than there is fails the node (runs
    /// would be placed that cannot run), except GPU slots on a machine without GPUs (stand-ins, by design) and
    /// `oversubscribe: true` nodes, which are noted.
    static func compare(_ node: NodeSpec, _ r: inout NodeReport) {
        if node.runtime == .slurm {
            compareSlurm(node, &r)
            return
        }
        let workDir = node.workDir ?? "/var/lib/podium-worker"
        // (A local node's daemon lives beside each sweep's state by design: only SSH nodes have one work_dir to match.)
        if node.transport == .ssh && !r.daemon_work_dirs.isEmpty && !r.daemon_work_dirs.contains(workDir) {
            r.notes.append("a podium-worker daemon runs there with --work-dir \(r.daemon_work_dirs.joined(separator: ", ")), but this inventory's work_dir is \(workDir): a sweep would start a daemon of its own beside it; if the running one is the node's (systemd, install.sh), set work_dir to its directory (`podium nodes add NAME --work-dir DIR`)")
        }
        if node.gpus > 0 && r.gpus.isEmpty {
            r.notes.append("declares \(node.gpus) GPUs, nvidia-smi finds none: \(node.gpus) stand-in slots (scheduling only; no GPU behind them)")
        } else if !r.gpus.isEmpty && node.gpus != r.gpus.count {
            r.mismatches.append("declares \(node.gpus) GPUs, nvidia-smi finds \(r.gpus.count)")
        }
        if let model = node.gpuModel, !r.gpus.isEmpty, !r.gpus.contains(where: { $0.lowercased().contains(model.lowercased()) }) {
            r.mismatches.append("declares gpu_model '\(model)', nvidia-smi reports \(Set(r.gpus.map { $0.split(separator: ",").dropFirst().first.map { $0.trimmingCharacters(in: .whitespaces) } ?? $0 }).sorted().joined(separator: ", "))")
        }
        var over = [String]()
        if let cpus = r.cpus, node.cpus > Double(cpus) { over.append("declares \(fixed(node.cpus, 0)) CPUs, the machine has \(cpus)") }
        if let mem = r.memory_bytes, Double(node.memoryBytes) > Double(mem) * 1.05 {
            over.append("declares \(formatMemory(node.memoryBytes)) of memory, the machine has \(formatMemory(mem))")
        }
        if let disk = node.diskBytes, let free = r.disk_free_bytes, disk > free {
            over.append("declares \(disk >> 30) GiB of scratch disk, \(free >> 30) GiB are free in its work directory")
        }
        if node.oversubscribe { r.notes += over.map { $0 + " (oversubscribe: true)" } } else { r.mismatches += over }
    }

    /// A Slurm target: what the inventory declares (the share of the cluster podium may fill at once) against the
    /// partition; the login node's own CPUs and memory do not matter.
    static func compareSlurm(_ node: NodeSpec, _ r: inout NodeReport) {
        let parts = r.slurm_partitions ?? []
        guard !parts.isEmpty else {
            r.mismatches.append("sinfo lists no partition (is Slurm reachable from this node? set slurm.conf if the cluster's slurm.conf is not the default)")
            return
        }
        let want = node.slurm?.partition
        guard let p = parts.first(where: { want == nil ? $0.is_default : $0.name == want }) else {
            r.mismatches.append(want.map { "partition '\($0)' is not in sinfo (partitions: \(parts.map(\.name).joined(separator: ", ")))" }
                                ?? "no default partition: set slurm.partition (partitions: \(parts.map(\.name).joined(separator: ", ")))")
            return
        }
        if p.available != "up" { r.mismatches.append("partition \(p.name) is \(p.available)") }
        var over = [String]()
        if node.gpus > p.total_gpus { over.append("declares \(node.gpus) GPUs, partition \(p.name) has \(p.total_gpus) (gres)") }
        if node.cpus > Double(p.total_cpus) { over.append("declares \(fixed(node.cpus, 0)) CPUs, partition \(p.name) has \(p.total_cpus)") }
        if node.oversubscribe { r.notes += over.map { $0 + " (oversubscribe: true)" } } else { r.mismatches += over }
        if r.slurm_work_dir_writable == false {
            r.mismatches.append("a test job could not write to the work directory \(node.workDir ?? "/var/lib/podium-worker") (it must be on the filesystem the compute nodes share)")
        }
    }
}
