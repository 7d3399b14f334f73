import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodiumCore
import PodiumGrading
import PodiumReport
import PodiumSystem

struct Agents: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the agents of an mle-bench checkout (agents/*/config.yaml): image, start script, kwargs, secrets.",
        discussion: """
            Run one in a sweep unchanged with "agent": {"mlebench": "<id>"}: podium keeps MLE-bench's container contract \
            (root setup, /validate on port 5000 answered by the coordinator, start.sh as nonroot with the kwargs). \
            Secrets are listed by name only; a missing one is an error before a sweep starts.
            """)

    @Option(help: "An mle-bench checkout (default: the mlebench_dir of ./scheduler.json).") var mlebenchDir: String?
    @Option(help: "text or json.") var format: OutputFormat = .text

    struct Row: Encodable {
        var id: String
        var image: String
        var start: String
        var kwargs_type: String
        var kwargs: [String: String]
        var arguments: [String]
        var env_vars: [String: String]
        var secrets: [String]
        var secrets_set: [String: Bool]
        var time_limit_secs: Int?
        var privileged: Bool
        var config: String
        var config_sha256: String
    }

    func run() throws {
        let dir = try mlebenchDirOrDefault(mlebenchDir)
        let env = ProcessInfo.processInfo.environment
        let rows = try AgentRegistry.load(mlebenchDir: dir).map { a in
            Row(id: a.id, image: a.image, start: a.start, kwargs_type: a.kwargsType.rawValue,
                kwargs: Dictionary(a.kwargs.map { ($0.key, $0.value) }, uniquingKeysWith: { _, b in b }), arguments: a.arguments,
                env_vars: Dictionary(a.env.map { ($0.key, $0.value) }, uniquingKeysWith: { _, b in b }), secrets: a.secrets,
                secrets_set: Dictionary(a.secrets.map { ($0, !(env[$0] ?? "").isEmpty) }, uniquingKeysWith: { a, _ in a }),
                time_limit_secs: a.configuredTimeLimit, privileged: a.privileged, config: a.configPath, config_sha256: a.configSHA256)
        }
        if format == .json { try printJSON(rows); return }
        print(TextTable.render(header: ["id", "image", "start", "kwargs", "secrets", "TIME_LIMIT_SECS"],
                               rows: rows.map { r in
                                   [r.id, r.image, r.start, "\(r.kwargs_type) (\(r.kwargs.count))",
                                    r.secrets.map { "\($0)\(r.secrets_set[$0] == true ? "" : " (unset)")" }.joined(separator: ", ").ifEmpty("-"),
                                    r.time_limit_secs.map(String.init) ?? "-"]
                               }))
        print("\(rows.count) agents in \(dir)/agents; podium sets TIME_LIMIT_SECS to each run's budget")
    }
}

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a submission as MLE-bench's /validate does: the competition's grader runs, the verdict in MLE-bench's words.",
        discussion: """
            The answers are read here (the coordinator's machine); agents in a sweep reach the same check at \
            http://localhost:5000/validate in their container, relayed to the coordinator. Exit 0 whether valid or not \
            (the verdict is the output); 1 when the competition cannot be graded here; 2 for usage errors.
            """)

    @Option(help: "Competition id.") var competition: String
    @Option(help: "The submission file.") var submission: String
    @Option(help: "The answers file, e.g. <data-dir>/<id>/prepared/private/test.csv.") var answers: String?
    @Option(help: "A prepared-data root (as `mlebench prepare` leaves it): the answers are found in it.") var dataDir: String?
    @Option(help: "An mle-bench checkout (or a directory laid out like one).") var mlebenchDir: String
    @Option(help: "text or json.") var format: OutputFormat = .text

    func validate() throws {
        if (answers == nil) == (dataDir == nil) { throw ValidationError("give exactly one of --answers FILE and --data-dir DIR") }
    }

    func run() throws {
        let reg = try CompetitionRegistry.load(mlebenchDir: mlebenchDir)
        guard let c = reg.competitions[competition] else {
            throw ConfigError(path: "--competition", found: "unknown competition '\(competition)'",
                              expected: "an id under \(mlebenchDir)/mlebench/competitions",
                              fix: nearest(competition, in: reg.competitions.keys).map { "did you mean '\($0)'?" })
        }
        let answersPath = answers ?? c.answersPath(dataDir: dataDir!)
        guard FileManager.default.fileExists(atPath: answersPath) else {
            throw ConfigError(path: answers != nil ? "--answers" : "--data-dir", found: "no answers at \(answersPath)",
                              expected: "the competition's answers file", fix: "run `mlebench prepare -c \(c.id)` or point at the file")
        }
        struct Out: Encodable { var valid: Bool; var result: String }
        let verdict: (valid: Bool, message: String)
        do {
            verdict = try GradingService().validate(competition: c, submissionPath: submission, answersPath: answersPath)
        } catch {
            printError("podium validate: \(c.id) cannot be graded here: \(error)")
            throw ExitCode(1)
        }
        if format == .json { try printJSON(Out(valid: verdict.valid, result: verdict.message)) } else { print(verdict.message) }
    }
}
