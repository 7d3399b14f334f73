import PodiumCore
import PodiumSystem

/// One GPU of the node, as nvidia-smi reports it; or a declared stand-in slot on a machine without GPUs.
public struct GPUDevice: Codable, Sendable, Equatable {
    public var index: Int
    public var uuid: String
    public var name: String
    public var memoryMiB: Int
    /// True for a declared slot (no real GPU behind it: scheduling only).
    public var standIn: Bool

    enum CodingKeys: String, CodingKey {
        case index, uuid, name
        case memoryMiB = "memory_mib"
        case standIn = "stand_in"
    }
}

public enum GPUInventory {
    /// The node's GPUs from `nvidia-smi`; empty when it is absent or fails.
    public static func discover() -> [GPUDevice] {
        guard let (code, out) = ChildProcess.capture(
            ["nvidia-smi", "--query-gpu=index,uuid,name,memory.total", "--format=csv,noheader,nounits"]), code == 0 else {
            return []
        }
        return parse(out)
    }

    /// Parses `index, uuid, name, memory` lines.
    public static func parse(_ csv: String) -> [GPUDevice] {
        csv.split(whereSeparator: \.isNewline).compactMap { line in
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard f.count >= 4, let i = Int(f[0]) else { return nil }
            return GPUDevice(index: i, uuid: f[1], name: f[2], memoryMiB: Int(f[3]) ?? 0, standIn: false)
        }
    }

    /// Real GPUs when there are any, else `declared` stand-in slots (named as such).
    public static func resolve(declared: Int, discovered: [GPUDevice] = discover()) -> [GPUDevice] {
        if !discovered.isEmpty { return discovered }
        return (0..<max(0, declared)).map { GPUDevice(index: $0, uuid: "stand-in-slot-\($0)", name: "declared GPU slot (no GPU)", memoryMiB: 0, standIn: true) }
    }
}

/// Which GPUs are free on this node; runs take whole GPUs and give them back when they end.
public final class GPUPool: @unchecked Sendable {
    public let devices: [GPUDevice]
    private let owners = Locked<[String: String]>([:])  // uuid → run

    public init(devices: [GPUDevice]) { self.devices = devices }

    /// The model of the node's real GPUs when they are all the same; nil for none, stand-in slots or a mix.
    public var model: String? {
        let names = Set(devices.filter { !$0.standIn }.map(\.name))
        return names.count == 1 && devices.allSatisfy({ !$0.standIn }) ? names.first : nil
    }

    /// Takes `count` free GPUs for `owner`; nil when not enough are free.
    public func acquire(_ count: Int, for owner: String) -> [GPUDevice]? {
        guard count > 0 else { return [] }
        return owners.withLock { taken in
            let free = devices.filter { taken[$0.uuid] == nil }
            guard free.count >= count else { return nil }
            let chosen = Array(free.prefix(count))
            for d in chosen { taken[d.uuid] = owner }
            return chosen
        }
    }

    public func release(owner: String) {
        owners.withLock { taken in for (k, v) in taken where v == owner { taken[k] = nil } }
    }
}
