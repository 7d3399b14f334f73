#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import PodiumCore

/// Diagnostics go through swift-log, to one handler on stderr, at the level `--log-level` or `PODIUM_LOG_LEVEL`
/// names (default `warning`); what a command prints for the person using it does not go through here.
public enum Diagnostics {
    /// Takes `--log-level LEVEL` (or `--log-level=LEVEL`) out of the arguments and sets up logging once.
    /// An unknown level is a usage error naming the valid ones.
    public static func bootstrap(arguments: inout [String], environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        var text = environment["PODIUM_LOG_LEVEL"]
        var source = "PODIUM_LOG_LEVEL"
        var i = 0
        while i < arguments.count {
            if arguments[i] == "--log-level" {
                guard i + 1 < arguments.count else {
                    throw ConfigError(path: "--log-level", found: "no value", expected: "one of \(levels)")
                }
                text = arguments[i + 1]
                source = "--log-level"
                arguments.removeSubrange(i...(i + 1))
            } else if arguments[i].hasPrefix("--log-level=") {
                text = String(arguments[i].dropFirst("--log-level=".count))
                source = "--log-level"
                arguments.remove(at: i)
            } else {
                i += 1
            }
        }
        let level: Logger.Level
        if let text {
            guard let l = Logger.Level(rawValue: text.lowercased()) else {
                throw ConfigError(path: source, found: "'\(text)'", expected: "one of \(levels)")
            }
            level = l
        } else {
            level = .warning
        }
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
    }

    static var levels: String { Logger.Level.allCases.map(\.rawValue).joined(separator: ", ") }
}
