#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One graded submission, with exactly the fields of MLE-bench's CompetitionReport (plus podium's `engine` and `error`).
public struct CompetitionReport: Codable, Sendable, Equatable {
    public var competitionID: String
    public var score: Double?
    public var goldThreshold: Double?
    public var silverThreshold: Double?
    public var bronzeThreshold: Double?
    public var medianThreshold: Double?
    public var anyMedal: Bool
    public var goldMedal: Bool
    public var silverMedal: Bool
    public var bronzeMedal: Bool
    public var aboveMedian: Bool
    public var submissionExists: Bool
    public var validSubmission: Bool
    public var isLowerBetter: Bool?
    public var createdAt: String
    public var submissionPath: String
    public var engine: String?
    public var error: String?
    /// What produced this result (podium's addition; absent from MLE-bench's own reports).
    public var provenance: RunProvenance?

    enum CodingKeys: String, CodingKey {
        case competitionID = "competition_id"
        case score
        case goldThreshold = "gold_threshold"
        case silverThreshold = "silver_threshold"
        case bronzeThreshold = "bronze_threshold"
        case medianThreshold = "median_threshold"
        case anyMedal = "any_medal"
        case goldMedal = "gold_medal"
        case silverMedal = "silver_medal"
        case bronzeMedal = "bronze_medal"
        case aboveMedian = "above_median"
        case submissionExists = "submission_exists"
        case validSubmission = "valid_submission"
        case isLowerBetter = "is_lower_better"
        case createdAt = "created_at"
        case submissionPath = "submission_path"
        case engine, error, provenance
    }

    public func encode(to encoder: any Encoder) throws {
        // MLE-bench writes null for a missing score and thresholds, so do we (default encoding would omit them).
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(competitionID, forKey: .competitionID)
        try c.encode(score, forKey: .score)
        try c.encode(goldThreshold, forKey: .goldThreshold)
        try c.encode(silverThreshold, forKey: .silverThreshold)
        try c.encode(bronzeThreshold, forKey: .bronzeThreshold)
        try c.encode(medianThreshold, forKey: .medianThreshold)
        try c.encode(anyMedal, forKey: .anyMedal)
        try c.encode(goldMedal, forKey: .goldMedal)
        try c.encode(silverMedal, forKey: .silverMedal)
        try c.encode(bronzeMedal, forKey: .bronzeMedal)
        try c.encode(aboveMedian, forKey: .aboveMedian)
        try c.encode(submissionExists, forKey: .submissionExists)
        try c.encode(validSubmission, forKey: .validSubmission)
        try c.encode(isLowerBetter, forKey: .isLowerBetter)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(submissionPath, forKey: .submissionPath)
        try c.encodeIfPresent(engine, forKey: .engine)
        try c.encodeIfPresent(error, forKey: .error)
        try c.encodeIfPresent(provenance, forKey: .provenance)
    }
}

/// Everything a published number needs disclosed: the agent and its config, the image that ran, the budget, the hardware
/// the attempt actually held, the node, podium's version and the grader.
public struct RunProvenance: Codable, Sendable, Equatable {
    public var agent: String
    /// "mlebench" (an mle-bench checkout's agent, unchanged) or "podium" (the sweep's own agent definition).
    public var agentSource: String
    public var agentConfigSHA256: String
    public var image: String
    /// The engine's image id (`sha256:…`) of what ran; nil for the process runtime.
    public var imageDigest: String?
    public var budget: String
    public var budgetSeconds: Int
    public var profile: String
    public var gpus: Int
    public var gpuModel: String?
    public var gpuIDs: [String]
    public var cpus: Double
    public var memoryBytes: Int64
    public var node: String
    public var epoch: Int
    public var podiumVersion: String
    public var graderEngine: String?
    /// The sweep configuration version the attempt ran (1 unless a changed configuration was accepted on resume).
    public var configVersion: Int = 1

    public init(agent: String, agentSource: String, agentConfigSHA256: String, image: String, imageDigest: String?, budget: String,
                budgetSeconds: Int, profile: String, gpus: Int, gpuModel: String?, gpuIDs: [String], cpus: Double, memoryBytes: Int64,
                node: String, epoch: Int, podiumVersion: String, graderEngine: String?) {
        self.agent = agent; self.agentSource = agentSource; self.agentConfigSHA256 = agentConfigSHA256; self.image = image
        self.imageDigest = imageDigest; self.budget = budget; self.budgetSeconds = budgetSeconds; self.profile = profile
        self.gpus = gpus; self.gpuModel = gpuModel; self.gpuIDs = gpuIDs; self.cpus = cpus; self.memoryBytes = memoryBytes
        self.node = node; self.epoch = epoch; self.podiumVersion = podiumVersion; self.graderEngine = graderEngine
    }

    enum CodingKeys: String, CodingKey {
        case agent
        case agentSource = "agent_source"
        case agentConfigSHA256 = "agent_config_sha256"
        case image
        case imageDigest = "image_digest"
        case budget
        case budgetSeconds = "budget_seconds"
        case profile, gpus
        case gpuModel = "gpu_model"
        case gpuIDs = "gpu_ids"
        case cpus
        case memoryBytes = "memory_bytes"
        case node, epoch
        case podiumVersion = "podium_version"
        case graderEngine = "grader_engine"
        case configVersion = "config_version"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        agent = try c.decode(String.self, forKey: .agent); agentSource = try c.decode(String.self, forKey: .agentSource)
        agentConfigSHA256 = try c.decode(String.self, forKey: .agentConfigSHA256); image = try c.decode(String.self, forKey: .image)
        imageDigest = try c.decodeIfPresent(String.self, forKey: .imageDigest); budget = try c.decode(String.self, forKey: .budget)
        budgetSeconds = try c.decode(Int.self, forKey: .budgetSeconds); profile = try c.decode(String.self, forKey: .profile)
        gpus = try c.decode(Int.self, forKey: .gpus); gpuModel = try c.decodeIfPresent(String.self, forKey: .gpuModel)
        gpuIDs = try c.decode([String].self, forKey: .gpuIDs); cpus = try c.decode(Double.self, forKey: .cpus)
        memoryBytes = try c.decode(Int64.self, forKey: .memoryBytes); node = try c.decode(String.self, forKey: .node)
        epoch = try c.decode(Int.self, forKey: .epoch); podiumVersion = try c.decode(String.self, forKey: .podiumVersion)
        graderEngine = try c.decodeIfPresent(String.self, forKey: .graderEngine)
        configVersion = try c.decodeIfPresent(Int.self, forKey: .configVersion) ?? 1
    }

    public func encode(to encoder: any Encoder) throws {
        // Disclosed means present: nulls are written, not omitted.
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(agent, forKey: .agent); try c.encode(agentSource, forKey: .agentSource)
        try c.encode(agentConfigSHA256, forKey: .agentConfigSHA256); try c.encode(image, forKey: .image)
        try c.encode(imageDigest, forKey: .imageDigest); try c.encode(budget, forKey: .budget)
        try c.encode(budgetSeconds, forKey: .budgetSeconds); try c.encode(profile, forKey: .profile)
        try c.encode(gpus, forKey: .gpus); try c.encode(gpuModel, forKey: .gpuModel); try c.encode(gpuIDs, forKey: .gpuIDs)
        try c.encode(cpus, forKey: .cpus); try c.encode(memoryBytes, forKey: .memoryBytes); try c.encode(node, forKey: .node)
        try c.encode(epoch, forKey: .epoch); try c.encode(podiumVersion, forKey: .podiumVersion)
        try c.encode(graderEngine, forKey: .graderEngine); try c.encode(configVersion, forKey: .configVersion)
    }
}

/// A batch of graded submissions with MLE-bench's aggregate fields: the `*_grading_report.json` that `mlebench grade`
/// writes and MLE-bench's aggregation reads (one per seed).
public struct GradingReport: Codable, Sendable, Equatable {
    public var totalRuns: Int
    public var totalRunsWithSubmissions: Int
    public var totalValidSubmissions: Int
    public var totalMedals: Int
    public var totalGoldMedals: Int
    public var totalSilverMedals: Int
    public var totalBronzeMedals: Int
    public var totalAboveMedian: Int
    public var competitionReports: [CompetitionReport]

    enum CodingKeys: String, CodingKey {
        case totalRuns = "total_runs"
        case totalRunsWithSubmissions = "total_runs_with_submissions"
        case totalValidSubmissions = "total_valid_submissions"
        case totalMedals = "total_medals"
        case totalGoldMedals = "total_gold_medals"
        case totalSilverMedals = "total_silver_medals"
        case totalBronzeMedals = "total_bronze_medals"
        case totalAboveMedian = "total_above_median"
        case competitionReports = "competition_reports"
    }

    public init(reports: [CompetitionReport]) {
        competitionReports = reports
        totalRuns = reports.count
        totalRunsWithSubmissions = reports.filter(\.submissionExists).count
        totalValidSubmissions = reports.filter(\.validSubmission).count
        totalMedals = reports.filter(\.anyMedal).count
        totalGoldMedals = reports.filter(\.goldMedal).count
        totalSilverMedals = reports.filter(\.silverMedal).count
        totalBronzeMedals = reports.filter(\.bronzeMedal).count
        totalAboveMedian = reports.filter(\.aboveMedian).count
    }

    /// `2025-05-07T12-59-41-GMT_grading_report.json`, MLE-bench's file name for a report made at `date`.
    public static func fileName(at date: Date, prefix: String = "") -> String {
        let stamp = String(isoTimestamp(date).prefix(19).map { $0 == ":" ? "-" : $0 })
        return "\(stamp)-GMT_\(prefix)grading_report.json"
    }
}

/// JSON for reports. A score can be NaN or ±inf (MLE-bench's graders return them for some submissions): podium writes
/// them as the strings "NaN", "Infinity", "-Infinity" (valid JSON that Python's float() reads) and reads both those and
/// the bare tokens Python's json module writes.
public enum ReportJSON {
    public static func encoder(sorted: Bool = true) -> JSONEncoder {
        let enc = JSONEncoder()
        enc.outputFormatting = sorted ? [.sortedKeys, .withoutEscapingSlashes] : [.withoutEscapingSlashes]
        enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return enc
    }

    public static func decoder() -> JSONDecoder {
        let dec = JSONDecoder()
        dec.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return dec
    }

    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        try decoder().decode(type, from: quotingBareNonFiniteTokens(data))
    }

    /// Puts quotes around NaN, Infinity and -Infinity where they stand as bare values (outside strings).
    public static func quotingBareNonFiniteTokens(_ data: Data) -> Data {
        let bytes = [UInt8](data)
        guard bytes.contains(0x4E) || bytes.contains(0x49) else { return data }  // no 'N' or 'I' at all
        var out = [UInt8]()
        out.reserveCapacity(bytes.count + 16)
        var inString = false, escaped = false, i = 0
        let tokens: [[UInt8]] = [Array("-Infinity".utf8), Array("Infinity".utf8), Array("NaN".utf8)]
        while i < bytes.count {
            let c = bytes[i]
            if inString {
                out.append(c)
                if escaped { escaped = false } else if c == 0x5C { escaped = true } else if c == 0x22 { inString = false }
                i += 1
                continue
            }
            if c == 0x22 { inString = true; out.append(c); i += 1; continue }
            if let t = tokens.first(where: { i + $0.count <= bytes.count && Array(bytes[i..<(i + $0.count)]) == $0 }) {
                out.append(0x22)
                out.append(contentsOf: t)
                out.append(0x22)
                i += t.count
                continue
            }
            out.append(c)
            i += 1
        }
        return Data(out)
    }
}
