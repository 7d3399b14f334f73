import XCTest
import PodiumCore
@testable import PodiumCoordinator

/// The Slurm target's settings and what `sinfo` says, without a cluster (the real one is in SlurmTests).
final class SlurmConfigTests: XCTestCase {
    func decode(_ node: String) throws -> Inventory {
        try JSONDecoder().decode(Inventory.self, from: Data(#"{"nodes": [\#(node)]}"#.utf8))
    }

    func testSlurmSettingsParseAndBadOnesAreNamed() throws {
        let inv = try decode(#"{"name": "c", "runtime": "slurm", "work_dir": "/shared/podium", "slurm": {"partition": "gpu", "account": "lab", "qos": "normal", "constraint": "h100", "sbatch_args": ["--exclusive"], "gpu_flag": "gpus", "time_margin": "15m"}}"#)
        let s = try XCTUnwrap(inv.nodes[0].slurm)
        XCTAssertEqual([s.partition, s.account, s.qos, s.constraint], ["gpu", "lab", "normal", "h100"])
        XCTAssertEqual(s.sbatchArgs, ["--exclusive"])
        XCTAssertEqual(s.gpuFlag, "gpus")
        XCTAssertEqual(s.timeMarginSeconds, 900)
        XCTAssertEqual(try decode(#"{"name": "c", "runtime": "slurm"}"#).nodes[0].slurm, SlurmSettings(), "defaults: the default partition")
        let cases: [(String, String)] = [
            (#"{"name": "c", "runtime": "process", "slurm": {"partition": "gpu"}}"#, "\"runtime\": \"slurm\""),
            (#"{"name": "c", "runtime": "slurm", "slurm": {"partition": "my gpu"}}"#, "slurm.partition"),
            (#"{"name": "c", "runtime": "slurm", "slurm": {"gpu_flag": "gres:gpu"}}"#, "--gres=gpu:N"),
            (#"{"name": "c", "runtime": "slurm", "slurm": {"partitions": "gpu"}}"#, "partitions"),
            (#"{"name": "c", "runtime": "kubernetes"}"#, "\"slurm\""),
        ]
        for (json, words) in cases {
            XCTAssertThrowsError(try decode(json), json) { XCTAssertTrue("\($0)".contains(words), "\($0)") }
        }
    }

    func testSinfoPartitionsAndGres() {
        let parts = SlurmPartition.parse(["debug*|up|1|2|18078|gpu:2", "a100|up|4|64|512000|gpu:a100:8(S:0-1)", "cpu|down|10|128|256000|(null)"])
        XCTAssertEqual(parts.map(\.name), ["debug", "a100", "cpu"])
        XCTAssertEqual(parts.map(\.is_default), [true, false, false])
        XCTAssertEqual(parts.map(\.total_gpus), [2, 32, 0])
        XCTAssertEqual(parts.map(\.total_cpus), [2, 256, 1280])
        var r = NodeReport(node: "c", transport: "local", ok: false, gpus: [])
        r.slurm_partitions = parts
        r.slurm_work_dir_writable = true
        var node = try! decode(#"{"name": "c", "runtime": "slurm", "gpus": 40, "cpus": 64, "slurm": {"partition": "a100"}}"#).nodes[0]
        NodeProbe.compare(node, &r)
        XCTAssertEqual(r.mismatches, ["declares 40 GPUs, partition a100 has 32 (gres)"])
        r.mismatches = []
        node.slurm?.partition = "h100"
        NodeProbe.compare(node, &r)
        XCTAssertEqual(r.mismatches, ["partition 'h100' is not in sinfo (partitions: debug, a100, cpu)"])
        r.mismatches = []
        node.slurm?.partition = "cpu"
        node.gpus = 0
        NodeProbe.compare(node, &r)
        XCTAssertEqual(r.mismatches, ["partition cpu is down"])
    }
}
