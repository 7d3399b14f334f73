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
        case engine, error
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
    }
}
