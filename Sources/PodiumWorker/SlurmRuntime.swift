#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import PodiumCore
import PodiumProtocol
import PodiumSystem

/// Every attempt is one Slurm job (issue 19). The worker runs on the cluster's login node (its work directory on the
/// filesystem the compute nodes share); the job runs the agent with the process runtime's contract (DATA_DIR,
/// SUBMISSION_DIR, LOGS_DIR, CODE_DIR, TIME_LIMIT_SECS) in the attempt's directory, and Slurm binds its CPUs, memory
/// and GPUs. Supervision stays with the worker, as on any node: the budget clock, SIGTERM then SIGKILL after the grace
/// period (`scancel --signal`), snapshots of the submission directory, the log, the outcome and the artifacts' sha256.
/// Slurm's `--time` (budget + grace + a margin) is a backstop only.
///
/// How a job ended comes from the job's own exit-code file first (written by the job script), then from Slurm
/// (`squeue`, then `scontrol show job`, then `sacct` where the cluster keeps accounting). NODE_FAIL, BOOT_FAIL,
/// PREEMPTED, DEADLINE and a cancellation by someone else are the cluster's fault: infra (the run is retried).
public struct SlurmRuntime: AgentRuntime {
    public let settings: SlurmSettings
    /// The worker's work directory (on the shared filesystem): where an adopted attempt's files are.
    public let workDir: String
    let slurm: SlurmCommands
    public var name: String { "slurm" }
    /// How long a job may wait in the queue before the attempt counts as an infra failure (the budget has not started).
    public var maxPendingSeconds: Double = 24 * 3600

    public init(settings: SlurmSettings, workDir: String) {
        self.settings = settings
        self.workDir = workDir
        slurm = SlurmCommands(conf: settings.conf)
    }

    public func adopt(_ record: AttemptRecord, services: AttemptServices) throws -> any AgentHandle {
        guard !record.identity.isEmpty, record.identity.allSatisfy(\.isNumber) else {
            throw InfraFailure("attempt \(record.request.runID) epoch \(record.request.epoch) has no Slurm job id on record")
        }
        let layout = AttemptLayout(workDir: workDir, sweep: record.request.sweep, runID: record.request.runID, epoch: record.request.epoch)
        return SlurmHandle(jobID: record.identity, slurm: slurm, outputPath: layout.root + "/job-output.log", exitFile: layout.root + "/exit_code")
    }

    public func launch(_ r: StartRequest, layout: AttemptLayout, labels: [String: String], gpus: [GPUDevice],
                       services: AttemptServices) throws -> any AgentHandle {
        guard r.contract == nil else {
            throw InfraFailure("the \(r.contract!) container contract needs the docker runtime; Slurm jobs run the agent as a process (containers through pyxis/enroot are not supported yet)")
        }
        guard !r.command.isEmpty else { throw InfraFailure("a Slurm job needs the agent's command (the sweep's agent.command)") }
        let script = layout.root + "/job.sh", output = layout.root + "/job-output.log", exitFile = layout.root + "/exit_code"
        let env = ProcessRuntime.contractEnvironment(r, layout: layout, labels: labels)
        // Secrets reach the job through sbatch's environment (--export), never through the script file on shared disk.
        var exported = [String: String]()
        var lines = ["#!/bin/sh", "# podium attempt \(r.runID) epoch \(r.epoch): the agent's command under Slurm"]
        for (k, v) in env.sorted(by: { $0.key < $1.key }) where isEnvName(k) {
            if r.secretNames.contains(k) { exported[k] = v } else { lines.append("export \(k)=\(shellQuote(v))") }
        }
        lines += [
            "cd \(shellQuote(layout.codeDir)) || exit 97",
            // The job's shell outlives a SIGTERM (the agent gets it from scancel --full too) to record the exit code.
            "trap 'stopping=1' TERM",
            r.command.map(shellQuote).joined(separator: " ") + " &",
            "agent=$!",
            "while :; do wait $agent; code=$?; kill -0 $agent 2>/dev/null || break; done",
            "echo $code > \(shellQuote(exitFile)).part && mv -f \(shellQuote(exitFile)).part \(shellQuote(exitFile))",
            "exit $code",
        ]
        do {
            try (lines.joined(separator: "\n") + "\n").write(toFile: script, atomically: true, encoding: .utf8)
            chmod(script, 0o755)
        } catch {
            throw InfraFailure("cannot write the job script \(script): \(error)")
        }
        let minutes = Int((Double(r.budgetSeconds + r.graceSeconds + settings.timeMarginSeconds) / 60).rounded(.up))
        var args = ["sbatch", "--parsable", "--job-name=\(SlurmCommands.jobName(runID: r.runID, epoch: r.epoch))",
                    "--output=\(output)", "--chdir=\(layout.codeDir)", "--no-requeue",
                    "--cpus-per-task=\(max(1, Int(r.cpus.rounded(.up))))", "--mem=\(max(1, r.memoryBytes >> 20))M",
                    "--time=\(max(1, minutes))", "--export=ALL"]
        if r.gpus > 0 { args.append(settings.gpuFlag == "gpus" ? "--gpus=\(r.gpus)" : "--gres=gpu:\(r.gpus)") }
        if let p = settings.partition { args.append("--partition=\(p)") }
        if let a = settings.account { args.append("--account=\(a)") }
        if let q = settings.qos { args.append("--qos=\(q)") }
        if let c = settings.constraint { args.append("--constraint=\(c)") }
        args += settings.sbatchArgs + [script]
        let submitted = slurm.run(args, extraEnv: exported, timeout: 120)
        guard submitted.code == 0, let id = submitted.output.split(separator: ";").first.map({ $0.trimmingCharacters(in: .whitespacesAndNewlines) }),
              !id.isEmpty, id.allSatisfy(\.isNumber) else {
            throw InfraFailure("sbatch refused the job (status \(submitted.code)): \(submitted.output.trimmingCharacters(in: .whitespacesAndNewlines).prefix(600)) — check partition/account/qos and the gres in the node's \"slurm\" settings")
        }
        let handle = SlurmHandle(jobID: id, slurm: slurm, outputPath: output, exitFile: exitFile)
        // The budget starts when the job runs, not while it waits in the queue.
        let until = monotonicSeconds() + maxPendingSeconds
        var lastReason = ""
        while true {
            let info = slurm.queue.state(of: id)
            if let info, info.state == "PENDING" || info.state == "CONFIGURING" || info.state == "REQUEUED" {
                if info.reason != lastReason {
                    lastReason = info.reason
                    printError("podium-worker: Slurm job \(id) (\(r.runID) epoch \(r.epoch)) pending: \(info.reason)")
                }
                if monotonicSeconds() > until {
                    _ = slurm.run(["scancel", id], timeout: 60)
                    throw InfraFailure("Slurm job \(id) pending for \(Int(maxPendingSeconds)) s (\(info.reason)); cancelled")
                }
                sleepSeconds(1)
                continue
            }
            break  // running, or already over (poll tells how)
        }
        return handle
    }
}

func isEnvName(_ s: String) -> Bool {
    guard let f = s.unicodeScalars.first, f == "_" || (f.isASCII && f.properties.isAlphabetic) else { return false }
    return s.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
}

/// One attempt's Slurm job.
struct SlurmHandle: AgentHandle {
    let jobID: String
    let slurm: SlurmCommands
    let outputPath: String
    let exitFile: String
    var identity: String { jobID }
    /// Set once podium itself signalled the job (so a CANCELLED state is podium's, not someone else's).
    private let signalled = Locked(false)

    init(jobID: String, slurm: SlurmCommands, outputPath: String, exitFile: String) {
        self.jobID = jobID; self.slurm = slurm; self.outputPath = outputPath; self.exitFile = exitFile
    }

    func poll() throws -> ExitStatus? {
        guard let info = slurm.queue.state(of: jobID) else {
            // Slurm no longer knows the job (and keeps no accounting): the job's own record is all there is.
            if let code = readExitCode() { return ExitStatus(exitCode: code, oomKilled: false) }
            return ExitStatus(exitCode: -1, oomKilled: false, infraReason: "Slurm job \(jobID) vanished (not in squeue, scontrol or sacct) without an exit code")
        }
        switch info.state {
        case "PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "RESIZING", "SIGNALING", "STAGE_OUT":
            return nil
        case "COMPLETED", "FAILED":
            // The job script records the agent's exit whatever the agent did; without that record the job never ran
            // the agent to its end (a launch failure, a node problem): the cluster's doing.
            guard let code = readExitCode() else {
                return ExitStatus(exitCode: -1, oomKilled: false, infraReason: "Slurm job \(jobID) ended \(info.state)\(info.reason.isEmpty ? "" : " (\(info.reason))") before the agent's exit was recorded")
            }
            return ExitStatus(exitCode: code, oomKilled: false)
        case "OUT_OF_MEMORY":
            return ExitStatus(exitCode: readExitCode() ?? 137, oomKilled: true)
        case "TIMEOUT":
            return ExitStatus(exitCode: readExitCode() ?? 124, oomKilled: false)
        case "CANCELLED":
            if signalled.withLock({ $0 }) { return ExitStatus(exitCode: readExitCode() ?? 143, oomKilled: false) }
            return ExitStatus(exitCode: -1, oomKilled: false, infraReason: "Slurm job \(jobID) was cancelled outside podium\(info.reason.isEmpty ? "" : " (\(info.reason))")")
        default:  // NODE_FAIL, BOOT_FAIL, PREEMPTED, DEADLINE, REVOKED, …: the cluster's doing
            return ExitStatus(exitCode: -1, oomKilled: false, infraReason: "Slurm job \(jobID) ended \(info.state)\(info.reason.isEmpty || info.reason == "None" ? "" : " (\(info.reason))")")
        }
    }

    func readExitCode() -> Int? {
        guard let text = try? String(contentsOfFile: exitFile, encoding: .utf8) else { return nil }
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    func signal(_ name: String) throws {
        signalled.withLock { $0 = true }
        let r = name == "SIGKILL" ? slurm.run(["scancel", jobID], timeout: 60)
                                  : slurm.run(["scancel", "--signal=TERM", "--full", jobID], timeout: 60)
        if r.code != 0 { throw InfraFailure("scancel \(jobID): \(r.output.prefix(300))") }
        slurm.queue.invalidate()
    }

    /// The job's output file on the shared filesystem, followed until the job is over and the file read to its end.
    func followOutput(_ sink: ([UInt8]) -> Void) throws {
        var offset: Int64 = 0
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        var overSince: Double?
        while true {
            let fd = open(outputPath, O_RDONLY | O_CLOEXEC)
            var read = 0
            if fd >= 0 {
                while true {
                    let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
                    if n <= 0 { break }
                    sink(Array(buf[0..<n]))
                    offset += Int64(n)
                    read += n
                }
                close(fd)
            }
            let over = (try? poll()) ?? nil != nil
            if over {
                // The shared filesystem may show the last bytes a moment after the job ended.
                if overSince == nil { overSince = monotonicSeconds() }
                if read == 0 && monotonicSeconds() - overSince! > 2 { return }
            }
            if read == 0 { sleepSeconds(0.25) }
        }
    }

    func cleanup() {
        if let info = slurm.queue.state(of: jobID), info.isLive { _ = slurm.run(["scancel", jobID], timeout: 60) }
    }
}

/// Slurm's command-line tools, with the cluster's slurm.conf, and one shared view of the queue.
struct SlurmCommands: Sendable {
    let conf: String?
    let queue: SlurmQueue

    init(conf: String?) {
        self.conf = conf
        queue = SlurmQueue.shared(conf: conf)
    }

    static func jobName(runID: String, epoch: Int) -> String { "podium-\(runID)-e\(epoch)" }

    func run(_ args: [String], extraEnv: [String: String] = [:], timeout: Double) -> (code: Int32, output: String) {
        SlurmCommands.run(args, conf: conf, extraEnv: extraEnv, timeout: timeout)
    }

    static func run(_ args: [String], conf: String?, extraEnv: [String: String] = [:], timeout: Double) -> (code: Int32, output: String) {
        var env = ProcessInfo.processInfo.environment
        if let conf { env["SLURM_CONF"] = conf }
        for (k, v) in extraEnv { env[k] = v }
        guard let child = try? ChildProcess(arguments: ["/usr/bin/env"] + args, environment: env, stdinPipe: false, stdoutPipe: true, stderr: .stdout) else {
            return (127, "cannot run \(args[0])")
        }
        var out = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 65536)
        while let n = try? buf.withUnsafeMutableBytes({ b in try retryingEINTR("read") { read(child.stdoutFD, b.baseAddress, b.count) } }), n > 0 {
            out += buf[0..<n]
        }
        close(child.stdoutFD)
        return (child.wait(timeout: timeout), String(decoding: out, as: UTF8.self))
    }
}

/// The states of the jobs podium watches, refreshed with one `squeue` call at most every 2 seconds however many
/// attempts ask; a job squeue no longer lists is looked up once in `scontrol show job`, then `sacct`.
final class SlurmQueue: @unchecked Sendable {
    struct Info: Equatable {
        var state: String
        var reason: String
        var exitCode: Int?
        var isLive: Bool { ["PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED"].contains(state) }
    }

    let conf: String?
    /// Held across a refresh: callers wait for the one squeue under way rather than start their own.
    private let lock = Locked(())
    private var tracked = Set<String>()
    private var live: [String: Info] = [:]
    private var ended: [String: Info] = [:]
    private var refreshedAt = -Double.infinity
    static let interval = 2.0

    private static let registry = Locked<[String: SlurmQueue]>([:])
    static func shared(conf: String?) -> SlurmQueue {
        registry.withLock { r in
            if let q = r[conf ?? ""] { return q }
            let q = SlurmQueue(conf: conf)
            r[conf ?? ""] = q
            return q
        }
    }

    init(conf: String?) { self.conf = conf }

    func invalidate() { lock.withLock { _ in refreshedAt = -Double.infinity } }

    /// The job's state (nil: Slurm does not know it any more).
    func state(of id: String) -> Info? {
        lock.withLock { _ in lockedState(of: id) }
    }

    private func lockedState(of id: String) -> Info? {
        if let e = ended[id] { return e }
        tracked.insert(id)
        if monotonicSeconds() - refreshedAt >= Self.interval || live[id] == nil {
            refresh()
        }
        if let i = live[id] { return i }
        // Not in the queue: finished (or unknown). One look in scontrol, then sacct; the answer is kept.
        if let i = lookUpEnded(id) {
            ended[id] = i
            tracked.remove(id)
            return i
        }
        return nil
    }

    private func refresh() {
        refreshedAt = monotonicSeconds()
        guard !tracked.isEmpty else { return }
        let r = SlurmCommands.run(["squeue", "-h", "-t", "all", "-o", "%i|%T|%r", "-j", tracked.sorted().joined(separator: ",")], conf: conf, timeout: 60)
        guard r.code == 0 else {
            // squeue refuses the whole list when one id is unknown to it: ask one by one.
            var fresh = [String: Info]()
            for id in tracked {
                let one = SlurmCommands.run(["squeue", "-h", "-t", "all", "-o", "%i|%T|%r", "-j", id], conf: conf, timeout: 60)
                if one.code == 0 { fresh.merge(Self.parse(one.output)) { a, _ in a } }
            }
            live = fresh.filter { $0.value.isLive }
            return
        }
        live = Self.parse(r.output).filter { $0.value.isLive }
    }

    static func parse(_ text: String) -> [String: Info] {
        var out = [String: Info]()
        for line in text.split(separator: "\n") {
            let f = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            if f.count >= 3 { out[f[0]] = Info(state: f[1], reason: f[2], exitCode: nil) }
        }
        return out
    }

    private func lookUpEnded(_ id: String) -> Info? {
        let s = SlurmCommands.run(["scontrol", "show", "job", "-o", id], conf: conf, timeout: 60)
        if s.code == 0, let state = Self.field("JobState", in: s.output) {
            let exit = Self.field("ExitCode", in: s.output).flatMap { Int($0.split(separator: ":").first ?? "") }
            let reason = Self.field("Reason", in: s.output) ?? ""
            let info = Info(state: state, reason: reason == "None" ? "" : reason, exitCode: exit)
            return info.isLive ? nil : info
        }
        let a = SlurmCommands.run(["sacct", "-n", "-X", "-P", "-j", id, "-o", "State,ExitCode"], conf: conf, timeout: 60)
        if a.code == 0, let line = a.output.split(separator: "\n").first {
            let f = line.split(separator: "|").map(String.init)
            if f.count >= 2 {
                // "CANCELLED by 0" → CANCELLED
                let state = String(f[0].split(separator: " ").first ?? "")
                return Info(state: state, reason: "", exitCode: Int(f[1].split(separator: ":").first ?? ""))
            }
        }
        return nil
    }

    static func field(_ name: String, in text: String) -> String? {
        for word in text.split(whereSeparator: { $0 == " " || $0 == "\n" }) where word.hasPrefix(name + "=") {
            return String(word.dropFirst(name.count + 1))
        }
        return nil
    }
}
