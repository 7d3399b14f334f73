#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Yams

/// A YAML file read with a real parser (libyaml through Yams): anchors and aliases resolved, `<<:` merge keys applied
/// (explicit keys win over merged ones, as in YAML 1.1 and PyYAML), scalars typed by YAML 1.1's resolver.
public struct YAMLDocument: Sendable {
    public let path: String
    public let root: YAMLValue
    /// Top-level keys whose value carries an anchor (`defaults: &defaults`): templates that others merge.
    public let anchoredKeys: Set<String>

    public init(path: String) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigError(file: path, found: "no readable file", expected: "a YAML file")
        }
        try self.init(text: text, path: path)
    }

    public init(text: String, path: String) throws {
        self.path = path
        do {
            let node = try Yams.compose(yaml: text) ?? Node.scalar(.init("", .init(.null)))
            // Yams keeps a node's anchor only weakly (gone after composing): read top-level `key: &name` lines instead.
            var anchored = Set<String>()
            for line in text.split(whereSeparator: \.isNewline) where !(line.first?.isWhitespace ?? true) && line.first != "#" {
                guard let colon = line.firstIndex(of: ":") else { continue }
                let rest = line[line.index(after: colon)...].drop(while: { $0 == " " || $0 == "\t" })
                if rest.hasPrefix("&") { anchored.insert(String(line[..<colon]).trimmingCharacters(in: .whitespaces)) }
            }
            anchoredKeys = anchored
            root = try YAMLValue(node, path: path, at: "$")
        } catch let e as ConfigError {
            throw e
        } catch {
            throw ConfigError(file: path, found: "YAML that does not parse (\(error))", expected: "valid YAML")
        }
    }
}

/// A YAML value with merges applied. Mappings keep their order.
public indirect enum YAMLValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case sequence([YAMLValue])
    case mapping([(key: String, value: YAMLValue)])

    public static func == (a: YAMLValue, b: YAMLValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.int(let x), .int(let y)): return x == y
        case (.float(let x), .float(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.sequence(let x), .sequence(let y)): return x == y
        case (.mapping(let x), .mapping(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    init(_ node: Node, path: String, at where_: String) throws {
        switch node {
        case .alias:
            // Yams' composer hands back the anchored node; an alias node only appears if that changes.
            throw ConfigError(file: path, path: where_, found: "an unresolved alias", expected: "aliases to anchors defined earlier")
        case .scalar(let s):
            switch node.tag.rawValue {
            case Tag.Name.null.rawValue: self = .null
            case Tag.Name.bool.rawValue: self = .bool(node.bool ?? false)
            case Tag.Name.int.rawValue: self = node.int.map { .int($0) } ?? .string(s.string)
            case Tag.Name.float.rawValue: self = node.float.map { .float($0) } ?? .string(s.string)
            default: self = .string(s.string)
            }
        case .sequence(let seq):
            self = .sequence(try seq.enumerated().map { try YAMLValue($1, path: path, at: "\(where_)[\($0)]") })
        case .mapping(let map):
            var own = [(key: String, value: YAMLValue)]()
            var merged = [(key: String, value: YAMLValue)]()
            for (k, v) in map {
                let key = k.string ?? ""
                if k.tag.rawValue == Tag.Name.merge.rawValue || key == "<<" {
                    let sources: [Node]
                    switch v {
                    case .mapping: sources = [v]
                    case .sequence(let s): sources = Array(s)
                    default:
                        throw ConfigError(file: path, path: "\(where_).<<", found: "a merge of a scalar",
                                          expected: "`<<:` followed by an alias of a mapping (or a list of them)")
                    }
                    for src in sources {
                        guard case .mapping = src else {
                            throw ConfigError(file: path, path: "\(where_).<<", found: "a merge of a non-mapping",
                                              expected: "`<<:` followed by aliases of mappings")
                        }
                        if case .mapping(let entries) = try YAMLValue(src, path: path, at: "\(where_).<<") {
                            // The first source of a list wins over later ones (YAML merge key spec).
                            for e in entries where !merged.contains(where: { $0.key == e.key }) { merged.append(e) }
                        }
                    }
                } else {
                    own.append((key, try YAMLValue(v, path: path, at: "\(where_).\(key)")))
                }
            }
            // As PyYAML builds the dict: merged keys first, in order; an explicit key replaces a merged one's value in
            // its place; the remaining explicit keys follow.
            var out = merged.map { m in own.last(where: { $0.key == m.key }).map { (key: m.key, value: $0.value) } ?? m }
            for o in own where !out.contains(where: { $0.key == o.key }) { out.append(o) }
            self = .mapping(out)
        @unknown default:
            throw ConfigError(file: path, path: where_, found: "a YAML node podium does not know", expected: "scalars, lists and mappings")
        }
    }

    public subscript(key: String) -> YAMLValue? {
        guard case .mapping(let entries) = self else { return nil }
        return entries.last(where: { $0.key == key })?.value
    }

    public var entries: [(key: String, value: YAMLValue)] {
        if case .mapping(let e) = self { return e }
        return []
    }

    /// The scalar as Python's `str()` prints what PyYAML loaded (how MLE-bench turns kwargs and env vars into text):
    /// True/False, None, integers in decimal, strings as they are.
    public var pythonText: String? {
        switch self {
        case .null: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .float(let d):
            if d == d.rounded(), abs(d) < 1e16 { return String(Int(d)) + ".0" }
            return String(d)
        case .string(let s): return s
        case .sequence, .mapping: return nil
        }
    }

    /// Every scalar under this value, keyed by its dotted path (`grader.name`): how podium reads competition configs.
    public func flattened(prefix: String = "") -> [String: String] {
        var out = [String: String]()
        switch self {
        case .mapping(let entries):
            for (k, v) in entries { out.merge(v.flattened(prefix: prefix.isEmpty ? k : "\(prefix).\(k)")) { _, new in new } }
        case .sequence, .null: break
        default: if let t = pythonText, !prefix.isEmpty { out[prefix] = t }
        }
        return out
    }
}
