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
}

public enum NodeProbe {
    /// Shell run on the node; one `key=value` per line.
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
        let before = wallClockSeconds()
        let output: String
        switch node.transport {
        case .local:
            guard let (code, out) = ChildProcess.capture(["/bin/sh", "-c", probe]), code == 0 else {
                r.error = "the probe failed on this machine"
                return r
            }
            output = out
        case .ssh:
            do {
                let s = try SSHSession(target: SSHTarget.from(node: node))
                defer { s.disconnect() }
                r.host_key = s.hostKeyFingerprint
                let (code, out) = try s.run(probe, timeout: 30)
                guard code == 0 else { r.error = "the probe exited with \(code)"; return r }
                output = String(decoding: out, as: UTF8.self)
            } catch {
                r.error = "\(error)"
                return r
            }
        }
        let after = wallClockSeconds()
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
            over.append("declares \(node.memoryBytes >> 30) GiB of memory, the machine has \(fixed(Double(mem) / Double(1 << 30), 1)) GiB")
        }
        if let disk = node.diskBytes, let free = r.disk_free_bytes, disk > free {
            over.append("declares \(disk >> 30) GiB of scratch disk, \(free >> 30) GiB are free in its work directory")
        }
        if node.oversubscribe { r.notes += over.map { $0 + " (oversubscribe: true)" } } else { r.mismatches += over }
    }
}
