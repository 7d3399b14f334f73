#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodiumCore
import PodiumSSH
import PodiumSystem

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
}

public enum NodeProbe {
    /// Shell run on the node; one `key=value` per line.
    static func script(workDir: String, worker: [String]) -> String {
        let w = worker.map(shellQuote).joined(separator: " ")
        return """
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

    public static func check(_ node: NodeSpec, localWorker: [String]) -> NodeReport {
        var r = NodeReport(node: node.name, transport: node.transport.rawValue, ok: false, gpus: [])
        let workDir = node.workDir ?? "/var/lib/podium-worker"
        let worker = node.workerCommand ?? (node.transport == .local ? localWorker : ["podium-worker"])
        let probe = script(workDir: workDir, worker: worker)
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
            default: break
            }
        }
        var problems = [String]()
        if r.worker == nil { problems.append("podium-worker not found (\(worker.joined(separator: " ")))") }
        if node.runtime == .docker && r.docker == nil { problems.append("no reachable Docker Engine") }
        if let skew = r.clock_skew_seconds, abs(skew) > 5 { problems.append("clock skew \(skew) s") }
        r.ok = problems.isEmpty
        if !problems.isEmpty { r.error = problems.joined(separator: "; ") }
        return r
    }
}
