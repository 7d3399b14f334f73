#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One competition as an mle-bench checkout (or a directory laid out like one) describes it.
public struct Competition: Codable, Sendable, Equatable, Hashable {
    public var id: String
    public var name: String
    /// Complexity split (low, medium, high) when an mle-bench split file lists it; otherwise the first custom split.
    public var split: String?
    /// Every split file that lists it.
    public var splits: [String]
    /// `grader.name` in config.yaml (a metric name such as auc-roc).
    public var graderName: String?
    /// `grader.engine` in config.yaml, a podium extension (e.g. `podium-generic` for the bundled mini benchmark).
    public var graderEngine: String?
    /// `dataset.answers` in config.yaml: the answers file relative to the prepared-data root
    /// (e.g. `spaceship-titanic/prepared/private/test.csv`; a few competitions use JSONL).
    public var answersFile: String?
    public var directory: String
    public var leaderboardPath: String?
    public var descriptionPath: String?

    public init(id: String, name: String, split: String?, splits: [String], graderName: String?, graderEngine: String?,
                answersFile: String?, directory: String, leaderboardPath: String?, descriptionPath: String?) {
        self.id = id; self.name = name; self.split = split; self.splits = splits; self.graderName = graderName
        self.graderEngine = graderEngine; self.answersFile = answersFile; self.directory = directory
        self.leaderboardPath = leaderboardPath; self.descriptionPath = descriptionPath
    }

    /// Where the answers are under a prepared-data root (`mlebench prepare`'s layout).
    public func answersPath(dataDir: String) -> String {
        "\(dataDir)/" + (answersFile ?? "\(id)/prepared/private/test.csv")
    }
}

/// The competitions and splits read from one mle-bench checkout or a directory with the same layout.
public struct CompetitionRegistry: Sendable {
    public var root: String
    public var competitions: [String: Competition]
    /// Split name → ids in file order.
    public var splits: [String: [String]]

    static let complexitySplits = ["low", "medium", "high"]

    /// Reads `experiments/splits/*.txt` and `mlebench/competitions/<id>/`.
    public static func load(mlebenchDir root: String) throws -> CompetitionRegistry {
        let fm = FileManager.default
        let compsDir = root + "/mlebench/competitions"
        let splitsDir = root + "/experiments/splits"
        guard (try? fm.contentsOfDirectory(atPath: compsDir)) != nil else {
            throw ConfigError(file: root, found: "no mlebench/competitions/ directory",
                              expected: "an mle-bench checkout (or a directory laid out like one)",
                              fix: "pass --mlebench-dir pointing at your mle-bench checkout")
        }
        var splits = [String: [String]]()
        for file in (try? fm.contentsOfDirectory(atPath: splitsDir)) ?? [] where file.hasSuffix(".txt") {
            splits[String(file.dropLast(4))] = readIdList(splitsDir + "/" + file)
        }
        var comps = [String: Competition]()
        for id in try fm.contentsOfDirectory(atPath: compsDir).sorted() {
            let dir = compsDir + "/" + id
            guard fm.fileExists(atPath: dir + "/config.yaml") else { continue }
            let yaml = try YAMLDocument(path: dir + "/config.yaml").root.flattened()
            let inSplits = splits.keys.sorted().filter { splits[$0]!.contains(id) }
            let primary = complexitySplits.first(where: inSplits.contains)
                ?? inSplits.first(where: { $0 != "split75" && $0 != "dev" && $0 != "all" })
            let lb = dir + "/leaderboard.csv"
            let desc = dir + "/description.md"
            comps[id] = Competition(
                id: yaml["id"] ?? id, name: yaml["name"] ?? id, split: primary, splits: inSplits,
                graderName: yaml["grader.name"], graderEngine: yaml["grader.engine"], answersFile: yaml["dataset.answers"], directory: dir,
                leaderboardPath: fm.fileExists(atPath: lb) ? lb : nil,
                descriptionPath: fm.fileExists(atPath: desc) ? desc : nil)
        }
        if splits["all"] == nil { splits["all"] = comps.keys.sorted() }
        return CompetitionRegistry(root: root, competitions: comps, splits: splits)
    }

    /// Ids of a split, in file order; a clear error naming the known splits otherwise.
    public func ids(inSplit requested: String, source: String) throws -> [String] {
        // MLE-bench calls the low-complexity split "Lite".
        let name = requested.lowercased() == "lite" && splits["lite"] == nil ? "low" : requested
        guard let ids = splits[name] else {
            let known = splits.keys.sorted()
            let fix = nearest(name, in: known).map { "did you mean '\($0)'? " } ?? ""
            throw ConfigError(path: source, found: "split '\(name)'",
                              expected: "one of \(known.joined(separator: ", ")) in \(root)/experiments/splits",
                              fix: fix + "or list ids explicitly")
        }
        return ids
    }

    /// Resolves a selection to competitions, refusing unknown ids with the nearest known one.
    public func resolve(_ selection: CompetitionSelection, source: String) throws -> [Competition] {
        let ids: [String]
        switch selection {
        case .split(let s): ids = try self.ids(inSplit: s, source: source)
        case .ids(let list): ids = list
        case .file(let f):
            guard FileManager.default.fileExists(atPath: f) else {
                throw ConfigError(file: f, path: source, found: "no such file", expected: "a file of competition ids, one per line")
            }
            ids = CompetitionRegistry.readIdList(f)
        }
        guard !ids.isEmpty else {
            throw ConfigError(path: source, found: "no competitions", expected: "at least one competition id")
        }
        var out = [Competition]()
        var seen = Set<String>()
        for id in ids where seen.insert(id).inserted {
            guard let c = competitions[id] else {
                let fix = nearest(id, in: competitions.keys).map { "did you mean '\($0)'?" } ?? "see `podium competitions`"
                throw ConfigError(path: source, found: "unknown competition id '\(id)'",
                                  expected: "an id under \(root)/mlebench/competitions", fix: fix)
            }
            out.append(c)
        }
        return out
    }

    static func readIdList(_ path: String) -> [String] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }
}

extension CompetitionRegistry {
    /// Bytes of each competition's prepared data, from `experiments/competition_categories.csv` (`dataset_size_GB`,
    /// decimal gigabytes) of an mle-bench checkout; empty when the file is not there.
    public static func datasetBytes(mlebenchDir: String) -> [String: Int64] {
        guard let text = try? String(contentsOfFile: mlebenchDir + "/experiments/competition_categories.csv", encoding: .utf8) else { return [:] }
        let lines = text.split(whereSeparator: \.isNewline)
        guard let header = lines.first?.split(separator: ",", omittingEmptySubsequences: false).map({ $0.trimmingCharacters(in: .whitespaces) }),
              let idCol = header.firstIndex(of: "competition_id"), let sizeCol = header.firstIndex(of: "dataset_size_GB") else { return [:] }
        var out = [String: Int64]()
        for line in lines.dropFirst() {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count > max(idCol, sizeCol), let gb = Double(cells[sizeCol]), gb >= 0 else { continue }
            out[cells[idCol]] = Int64(gb * 1e9)
        }
        return out
    }
}

/// A size or rate as people write it for disks and links: "1TB", "500GB", "100MB/s" (decimal), "1TiB", "512GiB"
/// (binary). nil when it is not one.
public func parseDecimalByteSize(_ text: String) -> Int64? {
    var t = text.trimmingCharacters(in: .whitespaces)
    if t.lowercased().hasSuffix("/s") { t = String(t.dropLast(2)) }
    var digits = ""
    var rest = Substring(t)
    while let c = rest.first, c.isNumber || c == "." { digits.append(c); rest.removeFirst() }
    guard let v = Double(digits), v >= 0 else { return nil }
    let unit = rest.trimmingCharacters(in: .whitespaces).lowercased()
    let mult: Double
    switch unit {
    case "b": mult = 1
    case "kb": mult = 1e3
    case "mb": mult = 1e6
    case "gb": mult = 1e9
    case "tb": mult = 1e12
    case "kib": mult = 1024
    case "mib": mult = Double(1 << 20)
    case "gib": mult = Double(1 << 30)
    case "tib": mult = Double(1 << 40)
    default: return nil
    }
    return Int64(v * mult)
}
