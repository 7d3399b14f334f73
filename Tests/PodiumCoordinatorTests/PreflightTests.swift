import XCTest
import PodiumCore
@testable import PodiumCoordinator

/// Issue 21: a secret that is not set was dropped silently; the sweep ran and the agent burnt its budget without it.
final class PreflightTests: XCTestCase {
    func testMissingSecretIsAConfigErrorNamingItAndTheAgent() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("podium-preflight-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try #"{"nodes": [{"name": "n", "transport": "local", "runtime": "process", "cpus": 2, "memory": "4g"}]}"#
            .write(toFile: dir + "/inventory.json", atomically: true, encoding: .utf8)
        try """
        {"sweep": "s", "agent": {"name": "aide", "image": "none", "command": ["true"], "secrets": ["PODIUM_TEST_KEY_A", "PODIUM_TEST_KEY_B"]},
         "competitions": ["wine-cultivar"], "budgets": ["60s"], "hardware": [{"name": "cpu", "cpus": 1, "memory": "1g"}],
         "inventory": "inventory.json", "mlebench_dir": "\(repo)/benchmark/mini", "data_dir": "\(repo)/benchmark/mini-data"}
        """.write(toFile: dir + "/sweep.json", atomically: true, encoding: .utf8)
        let setup = try SweepSetup.load(configPath: dir + "/sweep.json", overrides: SweepOverrides())
        XCTAssertThrowsError(try setup.checkSecrets(environment: ["PODIUM_TEST_KEY_A": "x"])) { error in
            let e = error as? ConfigError
            XCTAssertEqual(e?.path, "$.agent.secrets[1]")
            XCTAssertTrue("\(error)".contains("PODIUM_TEST_KEY_B") && "\(error)".contains("aide"), "\(error)")
        }
        XCTAssertThrowsError(try setup.checkSecrets(environment: ["PODIUM_TEST_KEY_A": "x", "PODIUM_TEST_KEY_B": ""]), "an empty value is not a key")
        XCTAssertNoThrow(try setup.checkSecrets(environment: ["PODIUM_TEST_KEY_A": "x", "PODIUM_TEST_KEY_B": "y"]))
    }
}
