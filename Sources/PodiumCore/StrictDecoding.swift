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
        throw ConfigError(decoding: e, file: file)
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
