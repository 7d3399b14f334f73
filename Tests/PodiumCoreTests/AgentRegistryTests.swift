import XCTest
@testable import PodiumCore

/// MLE-bench agent configs read as MLE-bench's registry reads them (PyYAML + Python's str()): anchors, `<<:` merges in
/// PyYAML's key order, kwargs rendered per kwargs_type, `${{ secrets.NAME }}` kept as names.
final class AgentRegistryTests: XCTestCase {
    func write(_ text: String) throws -> String {
        let dir = NSTemporaryDirectory() + "podium-agents-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir + "/agents/x", withIntermediateDirectories: true)
        try text.write(toFile: dir + "/agents/x/config.yaml", atomically: true, encoding: .utf8)
        return dir
    }

    func testMergesKeepPyYAMLOrderAndExplicitKeysWin() throws {
        let dir = try write("""
            vars:
              limit: &limit 600 # comment
            base: &base
              start: x/start.sh
              kwargs_type: omegaconf
              kwargs: &kw
                a.b: 1
                flag: True
                off: False
                nothing: null
                ratio: 0.5
                limit: *limit
            x:
              <<: *base
              kwargs:
                <<: *kw
                flag: False
                extra: "text with: colon"
              env_vars:
                TIME_LIMIT_SECS: *limit
                KEY: ${{ secrets.MY_KEY }}
            x/argparse:
              <<: *base
              kwargs_type: argparse
              kwargs:
                max-steps: 3
            """)
        let agents = try AgentRegistry.load(mlebenchDir: dir)
        XCTAssertEqual(agents.map(\.id), ["x", "x/argparse"], "anchored templates (base) and vars are not agents")
        let x = try XCTUnwrap(agents.first)
        XCTAssertEqual(x.arguments, ["a.b=1", "flag=False", "off=False", "nothing=None", "ratio=0.5", "limit=600", "extra=text with: colon"])
        XCTAssertEqual(x.env, [.init("TIME_LIMIT_SECS", "600")])
        XCTAssertEqual(x.secretEnv, [.init("KEY", "MY_KEY")])
        XCTAssertEqual(x.configuredTimeLimit, 600)
        XCTAssertEqual(x.image, "x")
        XCTAssertEqual(agents[1].arguments, ["--max-steps", "3"])
        XCTAssertEqual(agents[1].kwargsType, .argparse)
        XCTAssertEqual(x.configSHA256.count, 64)
    }

    func testUnknownAgentAndBadValuesNameTheFix() throws {
        let dir = try write("""
            x:
              start: x/start.sh
              kwargs_type: yaml
            """)
        XCTAssertThrowsError(try AgentRegistry.load(mlebenchDir: dir)) { e in
            XCTAssertTrue("\(e)".contains("$.x.kwargs_type") && "\(e)".contains("omegaconf or argparse"), "\(e)")
        }
        let ok = try write("x:\n  start: x/start.sh\n")
        XCTAssertThrowsError(try AgentRegistry.agent(id: "y", mlebenchDir: ok)) { e in
            XCTAssertTrue("\(e)".contains("unknown agent 'y'"), "\(e)")
        }
        let broken = try write("x: [unclosed\n")
        XCTAssertThrowsError(try AgentRegistry.load(mlebenchDir: broken)) { e in
            XCTAssertTrue("\(e)".contains("config.yaml") && "\(e)".contains("YAML"), "\(e)")
        }
    }

    func testBundledTestAgent() throws {
        let a = try AgentRegistry.agent(id: "mlebench-test", mlebenchDir: repoRoot + "/benchmark/mini")
        XCTAssertEqual(a.arguments, ["agent.steps=3", "agent.time_limit=7200", "copy_data=False"])
        XCTAssertEqual(a.secrets, ["PODIUM_TEST_API_KEY"])
        XCTAssertEqual(a.configuredTimeLimit, 7200)
    }

    /// MLE-bench's own configs, as in a checkout (values checked against PyYAML's reading of the same files).
    func testMLEBenchsRealAgentConfigs() throws {
        guard FileManager.default.fileExists(atPath: sharedMLEBench + "/agents") else { throw XCTSkip("../shared/mle-bench/agents not present") }
        let agents = try AgentRegistry.load(mlebenchDir: sharedMLEBench)
        XCTAssertTrue(agents.map(\.id).contains("aide/o1-preview"))
        XCTAssertFalse(agents.map(\.id).contains("defaults"))
        let o1 = try AgentRegistry.agent(id: "aide/o1-preview", mlebenchDir: sharedMLEBench)
        XCTAssertEqual(o1.arguments, ["agent.search.max_debug_depth=20", "agent.search.debug_prob=1", "agent.time_limit=7200",
                                      "exec.timeout=32400", "copy_data=False", "agent.code.model=o1-preview", "agent.code.temp=1",
                                      "agent.feedback.model=gpt-4o-2024-08-06", "agent.steps=500", "agent.convert_system_to_user=True"])
        XCTAssertEqual(o1.env, [.init("TIME_LIMIT_SECS", "7200"), .init("STEP_LIMIT", "500")])
        XCTAssertEqual(o1.secretEnv, [.init("OPENAI_API_KEY", "OPENAI_API_KEY")])
        XCTAssertEqual(o1.image, "aide")
        XCTAssertEqual(o1.start, "aide/start.sh")
        let mlab = try AgentRegistry.agent(id: "mlagentbench", mlebenchDir: sharedMLEBench)
        XCTAssertEqual(mlab.kwargsType, .argparse)
        XCTAssertEqual(Array(mlab.arguments.prefix(4)), ["--llm-name", "gpt-4o-2024-08-06", "--edit-script-llm-name", "gpt-4o-2024-08-06"])
        XCTAssertTrue(mlab.arguments.contains("--max-time") && mlab.arguments.contains("86400"))
        XCTAssertEqual(mlab.configuredTimeLimit, 86400)
    }
}
