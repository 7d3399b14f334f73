#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Edits of an inventory file that keep what a person wrote (comments, units such as "512g", relative paths, key order
/// and layout): a node is inserted as text before the `nodes` array's closing bracket; nothing else is rewritten.
public enum InventoryText {
    public static func append(_ node: NodeSpec, toFile path: String) throws {
        let line = entry(node)
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            let fresh = "{\n  \"nodes\": [\n    \(line)\n  ]\n}\n"
            try Data(fresh.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            return
        }
        let updated = try insert(line, into: text, file: path)
        // Check before writing: the result must still be an inventory, with the new node in it.
        let decoded = try decodeConfig(Inventory.self, from: Data(updated.utf8), file: path)
        guard decoded.nodes.contains(where: { $0.name == node.name }) else {
            throw ConfigError(file: path, found: "an inventory podium could not add the node to", expected: "a {\"nodes\": [...]} object")
        }
        try Data(updated.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// One node as a one-line JSON object, sizes with their unit.
    static func entry(_ n: NodeSpec) -> String {
        var parts = ["\"name\": \(quote(n.name))", "\"transport\": \"ssh\""]
        if let h = n.host { parts.append("\"host\": \(quote(h))") }
        if let p = n.port { parts.append("\"port\": \(p)") }
        if let u = n.user { parts.append("\"user\": \(quote(u))") }
        if let k = n.identityFile { parts.append("\"identity_file\": \(quote(k))") }
        if let k = n.knownHosts { parts.append("\"known_hosts\": \(quote(k))") }
        if let w = n.workDir { parts.append("\"work_dir\": \(quote(w))") }
        if let c = n.workerCommand { parts.append("\"worker_command\": [" + c.map(quote).joined(separator: ", ") + "]") }
        parts.append("\"gpus\": \(n.gpus)")
        parts.append("\"cpus\": \(n.cpus == n.cpus.rounded() ? String(Int(n.cpus)) : String(n.cpus))")
        parts.append("\"memory\": \(quote(size(n.memoryBytes)))")
        return "{" + parts.joined(separator: ", ") + "}"
    }

    static func size(_ b: Int64) -> String {
        if b % (1 << 40) == 0 { return "\(b >> 40)t" }
        if b % (1 << 30) == 0 { return "\(b >> 30)g" }
        if b % (1 << 20) == 0 { return "\(b >> 20)m" }
        return "\(b)"
    }

    /// A string as a JSON literal (slashes unescaped), for text a person reads or a canonical form compares.
    static func quote(_ s: String) -> String {
        let data = (try? JSONEncoder().encode(s)) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\\/", with: "/")
    }

    /// Inserts `line` as the last element of the top-level `nodes` array.
    static func insert(_ line: String, into text: String, file: String) throws -> String {
        let chars = Array(text.utf8)
        // Find `"nodes"` as a key at depth 1, then its array's closing bracket; strings and escapes are skipped.
        var depth = 0, i = 0
        var inString = false, stringStart = 0
        var arrayStart: Int?
        var pendingKey: String?
        while i < chars.count {
            let c = chars[i]
            if inString {
                if c == UInt8(ascii: "\\") { i += 2; continue }
                if c == UInt8(ascii: "\"") {
                    inString = false
                    if depth == 1 { pendingKey = String(decoding: chars[(stringStart + 1)..<i], as: UTF8.self) }
                }
                i += 1
                continue
            }
            switch c {
            case UInt8(ascii: "\""): inString = true; stringStart = i
            case UInt8(ascii: "{"): depth += 1
            case UInt8(ascii: "["):
                depth += 1
                if depth == 2 && pendingKey == "nodes" && arrayStart == nil { arrayStart = i }
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if c == UInt8(ascii: "]"), depth == 2, let start = arrayStart {
                    // Is there an element already? Anything but whitespace between the brackets.
                    let inner = chars[(start + 1)..<i]
                    let empty = inner.allSatisfy { $0 == 32 || $0 == 9 || $0 == 10 || $0 == 13 }
                    // Indent like the last element's line, else four spaces.
                    if !empty {
                        // The last non-blank line inside the array.
                        var j = i - 1
                        while j > start && (chars[j] == 32 || chars[j] == 9 || chars[j] == 10 || chars[j] == 13) { j -= 1 }
                        var ls = j
                        while ls > start && chars[ls - 1] != 10 { ls -= 1 }
                        let indent = String(decoding: chars[ls..<j].prefix { $0 == 32 || $0 == 9 }, as: UTF8.self)
                        let before = String(decoding: chars[0...j], as: UTF8.self)
                        let after = String(decoding: chars[(j + 1)...], as: UTF8.self)
                        return before + ",\n" + indent + line + after
                    }
                    let before = String(decoding: chars[0...start], as: UTF8.self)
                    let after = String(decoding: chars[i...], as: UTF8.self)
                    return before + "\n    " + line + "\n  " + after
                }
                depth -= 1
                if depth == 1 { pendingKey = nil }
            case UInt8(ascii: ","):
                if depth == 1 { pendingKey = nil }
            default: break
            }
            i += 1
        }
        throw ConfigError(file: file, path: "$.nodes", found: "no nodes array", expected: "an inventory {\"nodes\": [...]}",
                          fix: "add \"nodes\": [] to it")
    }
}
