#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A coding key for any string, used to see every key an object holds.
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { self.stringValue = String(intValue); self.intValue = intValue }
}

/// Renders a coding path as a JSON path: `$.agent.env`, `$.hardware[1].gpus`.
public func jsonPath(_ path: [any CodingKey]) -> String {
    var s = "$"
    for key in path {
        if let i = key.intValue { s += "[\(i)]" } else { s += ".\(key.stringValue)" }
    }
    return s
}

extension Decoder {
    /// Refuses keys outside `known`, suggesting the nearest known one: a misspelled field must never be ignored.
    func rejectUnknownKeys(_ known: [String]) throws {
        let c = try container(keyedBy: AnyKey.self)
        for key in c.allKeys where !known.contains(key.stringValue) {
            var fix = "known fields: \(known.joined(separator: ", "))"
            if let n = nearest(key.stringValue, in: known) { fix = "did you mean '\(n)'? (\(fix))" }
            throw ConfigError(
                path: jsonPath(codingPath + [key]), found: "unknown field '\(key.stringValue)'",
                expected: "only documented fields are allowed", fix: fix)
        }
    }
}

/// Decodes JSON from a file, turning every decoding failure into a `ConfigError` naming the file and JSON path.
public func decodeConfigFile<T: Decodable>(_ type: T.Type, path: String) throws -> T {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw ConfigError(file: path, found: "no readable file", expected: "a JSON file", fix: "check the path")
    }
    return try decodeConfig(type, from: data, file: path)
}

public func decodeConfig<T: Decodable>(_ type: T.Type, from data: Data, file: String) throws -> T {
    do {
        let decoder = JSONDecoder()
        decoder.userInfo[configBaseDirectoryKey] = absolutePath(directoryOf(file))
        return try decoder.decode(T.self, from: data)
    } catch var e as ConfigError {
        e.file = file
        throw e
    } catch let e as DecodingError {
        var error = ConfigError(decoding: e, file: file)
        // Say what was found, in words: `"attempts": "3"` is "the string "3"", with the fix.
        if case .typeMismatch(let type, let ctx) = e, let root = try? JSONDecoder().decode(JSONValue.self, from: data),
           let value = root.at(ctx.codingPath) {
            error.found = value.words
            if case .string(let text) = value, Double(text) != nil, type == Int.self || type == Double.self || type == Int64.self {
                error.fix = "write it without quotes: \(text)"
            }
        }
        throw error
    }
}

/// Any JSON value, to describe what a config holds where decoding failed.
enum JSONValue: Decodable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    func at(_ path: [any CodingKey]) -> JSONValue? {
        var v: JSONValue? = self
        for k in path {
            switch v {
            case .object(let o)?: v = o[k.stringValue]
            case .array(let a)?: v = k.intValue.flatMap { $0 < a.count ? a[$0] : nil }
            default: return nil
            }
        }
        return v
    }

    var words: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return "\(b) (true/false)"
        case .number(let n): return "the number \(n == n.rounded() && abs(n) < 1e15 ? String(Int(n)) : String(n))"
        case .string(let s): return "the string \"\(s.count > 60 ? String(s.prefix(60)) + "…" : s)\""
        case .array(let a): return "a list of \(a.count)"
        case .object: return "an object"
        }
    }
}

extension ConfigError {
    init(decoding error: DecodingError, file: String) {
        switch error {
        case .keyNotFound(let key, let ctx):
            self.init(file: file, path: jsonPath(ctx.codingPath + [key]), found: "nothing",
                      expected: "required field '\(key.stringValue)' is missing", fix: "add it (see README, Sweep configuration)")
        case .typeMismatch(let type, let ctx):
            self.init(file: file, path: jsonPath(ctx.codingPath), found: "a value of another type",
                      expected: "expected \(Self.describe(type))")
        case .valueNotFound(let type, let ctx):
            self.init(file: file, path: jsonPath(ctx.codingPath), found: "null", expected: "expected \(Self.describe(type))")
        case .dataCorrupted(let ctx):
            if ctx.codingPath.isEmpty {
                let underlying = ctx.underlyingError.map { " (\($0))" } ?? ""
                self.init(file: file, found: "text that is not valid JSON\(underlying)", expected: "a JSON object")
            } else {
                self.init(file: file, path: jsonPath(ctx.codingPath), expected: ctx.debugDescription)
            }
        @unknown default:
            self.init(file: file, expected: "\(error)")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type, is Int64.Type: return "an integer"
        case is Double.Type: return "a number"
        case is Bool.Type: return "true or false"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array") { return "a JSON array" }
            if name.hasPrefix("Dictionary") { return "a JSON object" }
            return "a JSON object (\(name))"
        }
    }
}
