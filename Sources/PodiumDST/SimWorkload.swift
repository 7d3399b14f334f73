import PodiumCoordinator
import PodiumCore
import PodiumScheduler

extension Simulation.Workload {
    /// A sweep on its own inventory: each node's GPUs, CPUs, memory and data cache, each run its profile's needs.
    /// `dataBytes` (competition → bytes) turns on lazy staging; empty: every node holds every dataset.
    public static func inventory(_ setup: SweepSetup, policy: SchedulingPolicy, dataBytes: [String: Int64] = [:]) -> Simulation.Workload {
        let places = setup.inventory.nodes.map {
            CoordinatorInstance.PlaceSpec(name: $0.name, capacity: Resources($0), gpuModel: $0.gpuModel, dataCacheBytes: $0.dataCache?.maxBytes)
        }
        var w = Simulation.Workload(places: places, runs: setup.runs,
                                    needs: setup.profilesByName.mapValues { .init(resources: Resources($0), gpuModel: $0.gpuModel) },
                                    policy: policy, lostAfter: Double(setup.config.lostAfter.seconds), maxInfraRetries: setup.config.maxInfraRetries)
        w.dataBytes = dataBytes
        return w
    }

    /// The sweep's competitions' dataset sizes when its inventory stages lazily (some node declares a data_cache).
    public static func lazyDataBytes(_ setup: SweepSetup) -> [String: Int64] {
        guard setup.inventory.nodes.contains(where: { $0.dataCache != nil }) else { return [:] }
        let ids = Set(setup.competitions.map(\.id))
        return CompetitionRegistry.datasetBytes(mlebenchDir: setup.config.mlebenchDir).filter { ids.contains($0.key) }
    }
}
