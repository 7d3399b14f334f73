#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodiumCore
import PodiumGrading
import PodiumReport
import PodiumStore
import PodiumSystem

/// Turns the state into per-run results for the report: the final grade of each run's newest attempt.
public enum SweepResults {
    public static func collect(store: StateStore, sweep: String) throws -> (runs: [RunRecord], results: [RunResult], grades: [GradeRecord]) {
        let runs = try store.runs(sweep: sweep)
        let grades = try store.grades(sweep: sweep)
        var finals = [AttemptKey: GradeRecord]()
        for g in grades where g.isFinal { finals[g.key] = g }
        var results = runs.map { r -> RunResult in
            let g = r.state == .completed ? finals[r.key] : nil
            return RunResult(competition: r.spec.competition, budget: r.spec.budget, profile: r.spec.profile,
                             attempt: r.spec.attempt, graded: g != nil, infraFailed: r.state == .failed,
                             submissionExists: g?.submissionExists ?? false,
                             validSubmission: g?.valid ?? false, aboveMedian: g?.aboveMedian ?? false,
                             gold: g?.gold ?? false, silver: g?.silver ?? false, bronze: g?.bronze ?? false, score: g?.score,
                             agent: r.spec.agent, attemptsRecorded: max(r.epoch, 1))
        }
        for i in results.indices { results[i].configVersion = runs[i].spec.configVersion }
        return (runs, results, grades)
    }
}

extension SweepResults {
    /// Writes the sweep's final grades as MLE-bench grading reports, one per seed of each (agent, budget, profile):
    /// `<directory>/<agent>/<budget>/<profile>/seed_NNN_grading_report.json`, each holding the competition reports of
    /// that attempt index (only runs graded so far). `podium report --grading-reports` on one group's directory, or
    /// MLE-bench's own aggregation, reads them back. Returns the files written.
    @discardableResult
    public static func exportGradingReports(store: StateStore, sweep: String, directory: String) throws -> [String] {
        let runs = try store.runs(sweep: sweep)
        var finals = [AttemptKey: GradeRecord]()
        for g in try store.grades(sweep: sweep) where g.isFinal { finals[g.key] = g }
        var groups = [String: [CompetitionReport]]()
        let provenance = try provenance(store: store, sweep: sweep)
        for r in runs where r.state == .completed {
            guard let g = finals[r.key],
                  var report = try? ReportJSON.decode(CompetitionReport.self, from: Data(g.reportJSON.utf8)) else { continue }
            report.provenance = provenance[r.id]
            let seed = String(r.spec.attempt - 1)
            let key = [safeName(r.spec.agent), safeName(r.spec.budget.description), safeName(r.spec.profile),
                       "seed_" + String(repeating: "0", count: max(0, 3 - seed.count)) + seed].joined(separator: "/")
            groups[key, default: []].append(report)
        }
        var written = [String]()
        let enc = ReportJSON.encoder(sorted: false)
        for (key, reports) in groups.sorted(by: { $0.key < $1.key }) {
            let path = "\(directory)/\(key)_grading_report.json"
            try FileManager.default.createDirectory(atPath: directoryOf(path), withIntermediateDirectories: true)
            let data = try enc.encode(GradingReport(reports: reports.sorted { $0.competitionID < $1.competitionID }))
            try data.withUnsafeBytes { try writeFileDurably(path, $0) }
            written.append(path)
        }
        return written
    }

    /// What produced each run's current result: agent and its config digest, image, budget, hardware held, node,
    /// podium's version and the grader — as each attempt recorded them (its configuration version's agent and
    /// hardware, the image digest and GPUs its node reported, the podium that dispatched it), never the current file.
    public static func provenance(store: StateStore, sweep: String) throws -> [String: RunProvenance] {
        struct Profiles: Decodable { var hardware: [HardwareProfile] }
        var agents = [Int: SweepSetup.AgentIdentity]()
        var profiles = [Int: [HardwareProfile]]()
        for v in try store.configVersions(sweep: sweep) {
            agents[v.version] = v.agent.flatMap { try? JSONDecoder().decode(SweepSetup.AgentIdentity.self, from: Data($0.utf8)) }
            profiles[v.version] = (try? JSONDecoder().decode(Profiles.self, from: Data(v.config.utf8)))?.hardware ?? []
        }
        var engines = [AttemptKey: String]()
        for g in try store.grades(sweep: sweep) where g.isFinal {
            struct E: Decodable { var engine: String? }
            engines[g.key] = (try? JSONDecoder().decode(E.self, from: Data(g.reportJSON.utf8)))?.engine
        }
        // One query for every attempt of the sweep, not one per run.
        let attempts = Dictionary(try store.attempts(sweep: sweep).map { ($0.key, $0) }, uniquingKeysWith: { _, b in b })
        var out = [String: RunProvenance]()
        for r in try store.runs(sweep: sweep) where r.epoch > 0 {
            guard let a = attempts[r.key] else { continue }
            let version = a.configVersion ?? r.spec.configVersion
            let agent = agents[version]
            let p = profiles[version]?.first { $0.name == r.spec.profile }
            var prov = RunProvenance(
                agent: agent?.id ?? r.spec.agent, agentSource: agent?.source ?? "podium", agentConfigSHA256: agent?.configSHA256 ?? "unknown",
                image: agent?.image ?? "unknown", imageDigest: a.imageDigest, budget: r.spec.budget.description,
                budgetSeconds: r.spec.budget.seconds, profile: r.spec.profile, gpus: a.gpuIDs.count, gpuModel: a.gpuModel,
                gpuIDs: a.gpuIDs, cpus: p?.cpus ?? 0, memoryBytes: p?.memoryBytes ?? 0, node: a.node, epoch: r.epoch,
                podiumVersion: a.podiumVersion ?? "unrecorded (dispatched before podium recorded its version)", graderEngine: engines[r.key])
            prov.configVersion = version
            out[r.id] = prov
        }
        return out
    }

    static func safeName(_ s: String) -> String {
        String(s.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "_" })
    }
}

/// What a sweep has cost and covered so far: the report's honest-accounting block (and `podium status`'s hours).
public struct SweepAccounting: Codable, Sendable, Equatable {
    public var runsTotal: Int
    public var runsGraded: Int
    public var runsInfraFailed: Int
    public var runsUnfinished: Int
    public var coveragePercentage: Double
    public var attemptsTotal: Int
    public var runsRetried: Int
    public var extraAttempts: Int
    public var gpuHoursUsed: Double
    public var cpuHoursUsed: Double

    enum CodingKeys: String, CodingKey {
        case runsTotal = "runs_total"
        case runsGraded = "runs_graded"
        case runsInfraFailed = "runs_infra_failed"
        case runsUnfinished = "runs_unfinished"
        case coveragePercentage = "coverage_percentage"
        case attemptsTotal = "attempts_total"
        case runsRetried = "runs_retried"
        case extraAttempts = "extra_attempts"
        case gpuHoursUsed = "gpu_hours_used"
        case cpuHoursUsed = "cpu_hours_used"
    }

    public var rows: [(String, String)] {
        [("runs graded / total (coverage)", "\(runsGraded) / \(runsTotal) (\(fixed(coveragePercentage))%)"),
         ("runs unfinished (pending or live)", String(runsUnfinished)),
         ("runs failed for infrastructure reasons (shown apart, not agent failures)", String(runsInfraFailed)),
         ("attempts recorded", String(attemptsTotal)),
         ("runs needing more than one attempt (infra retries, lost nodes)", "\(runsRetried) (\(extraAttempts) extra attempts)"),
         ("GPU-hours used", fixed(gpuHoursUsed, 2)), ("CPU-hours used", fixed(cpuHoursUsed, 2))]
    }
}

extension SweepResults {
    struct ProfilesOnly: Decodable {
        struct Profile: Decodable { var name: String; var gpus: Int; var cpus: Double }
        var hardware: [Profile]
    }

    /// Each hardware profile's GPUs and CPUs, from the sweep's stored config.
    public static func profileResources(store: StateStore, sweep: String) throws -> [String: (gpus: Int, cpus: Double)] {
        let profiles = (try store.sweepConfigJSON(sweep)).flatMap { try? JSONDecoder().decode(ProfilesOnly.self, from: Data($0.utf8)) }
        return Dictionary((profiles?.hardware ?? []).map { ($0.name, (gpus: $0.gpus, cpus: $0.cpus)) }, uniquingKeysWith: { a, _ in a })
    }

    /// `runs` and `attempts` when the caller has just read them (the dashboard, status).
    public static func accounting(store: StateStore, sweep: String, runs given: [RunRecord]? = nil,
                                  attempts givenAttempts: [AttemptRecord]? = nil) throws -> SweepAccounting {
        let runs = try given ?? store.runs(sweep: sweep)
        let attempts = try givenAttempts ?? store.attempts(sweep: sweep)
        let grades = try store.finalGrades(sweep: sweep)
        let profiles = (try store.sweepConfigJSON(sweep)).flatMap { try? JSONDecoder().decode(ProfilesOnly.self, from: Data($0.utf8)) }
        let byName = Dictionary((profiles?.hardware ?? []).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let profileOf = Dictionary(uniqueKeysWithValues: runs.map { ($0.id, $0.spec.profile) })
        var gpu = 0.0, cpu = 0.0
        for a in attempts {
            guard let secs = a.elapsedSeconds, let p = profileOf[a.runID].flatMap({ byName[$0] }) else { continue }
            gpu += Double(p.gpus) * secs / 3600
            cpu += p.cpus * secs / 3600
        }
        let finals = Set(grades.filter(\.isFinal).map(\.key))
        let graded = runs.filter { $0.state == .completed && finals.contains($0.key) }.count
        let perRun = Dictionary(grouping: attempts, by: \.runID).mapValues(\.count)
        return SweepAccounting(
            runsTotal: runs.count, runsGraded: graded, runsInfraFailed: runs.filter { $0.state == .failed }.count,
            runsUnfinished: runs.filter { !$0.state.isTerminal }.count,
            coveragePercentage: runs.isEmpty ? 0 : 100 * Double(graded) / Double(runs.count),
            attemptsTotal: attempts.count, runsRetried: perRun.values.filter { $0 > 1 }.count,
            extraAttempts: perRun.values.reduce(0) { $0 + max(0, $1 - 1) }, gpuHoursUsed: gpu, cpuHoursUsed: cpu)
    }

    /// Every graded submission of each completed run's final attempt, placed in time: snapshots at their elapsed time,
    /// the final submission when the attempt ended (at most the budget).
    public static func timedGrades(store: StateStore, sweep: String) throws -> [TimedGrade] {
        let runs = Dictionary(uniqueKeysWithValues: try store.runs(sweep: sweep).map { ($0.id, $0) })
        let ended = Dictionary(try store.attempts(sweep: sweep).map { ($0.key, $0.elapsedSeconds) }, uniquingKeysWith: { a, _ in a })
        var out = [TimedGrade]()
        for g in try store.grades(sweep: sweep) {
            guard let r = runs[g.runID], r.state == .completed, g.epoch == r.epoch else { continue }
            let budget = Double(r.spec.budget.seconds)
            let secs = g.isFinal ? min(budget, (ended[g.key] ?? nil) ?? budget) : min(budget, g.elapsedSeconds ?? budget)
            out.append(TimedGrade(runKey: g.key.description, competition: r.spec.competition, budget: r.spec.budget,
                                  profile: r.spec.profile, agent: r.spec.agent, elapsedHours: secs / 3600, anyMedal: g.anyMedal))
        }
        return out
    }
}
