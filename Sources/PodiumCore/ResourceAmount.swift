/// Amounts of a node's resources: what it has, what an attempt or a run holds or needs, what is free. The scheduler
/// places by them (`Resources`), the daemon's ledger reserves them, the protocol carries them.
public struct ResourceAmount: Codable, Sendable, Equatable, Hashable {
    public var gpus: Int
    public var cpus: Double
    public var memoryBytes: Int64
    /// Scratch disk; a node that declares none offers `unlimitedDisk`.
    public var diskBytes: Int64

    public init(gpus: Int, cpus: Double, memoryBytes: Int64, diskBytes: Int64 = 0) {
        self.gpus = gpus; self.cpus = cpus; self.memoryBytes = memoryBytes; self.diskBytes = diskBytes
    }

    public static let zero = ResourceAmount(gpus: 0, cpus: 0, memoryBytes: 0)
    /// 1 PiB: "no limit" that still sums without overflow.
    public static let unlimitedDisk: Int64 = 1 << 50

    public func fits(in free: ResourceAmount) -> Bool {
        gpus <= free.gpus && cpus <= free.cpus + 1e-9 && memoryBytes <= free.memoryBytes && diskBytes <= free.diskBytes
    }
    /// What of this need does not fit in `free`, in words ("4 GPUs (has 2)"); empty when it fits.
    public func shortfall(in free: ResourceAmount) -> [String] {
        var out = [String]()
        if gpus > free.gpus { out.append("\(gpus) GPUs (has \(free.gpus))") }
        if cpus > free.cpus + 1e-9 { out.append("\(cpus) CPUs (has \(free.cpus))") }
        if memoryBytes > free.memoryBytes { out.append("\(memoryBytes >> 20) MiB of memory (has \(free.memoryBytes >> 20) MiB)") }
        if diskBytes > free.diskBytes { out.append("\(diskBytes >> 30) GiB of disk (has \(free.diskBytes >> 30) GiB)") }
        return out
    }
    public static func + (a: Self, b: Self) -> Self {
        Self(gpus: a.gpus + b.gpus, cpus: a.cpus + b.cpus, memoryBytes: a.memoryBytes + b.memoryBytes, diskBytes: a.diskBytes + b.diskBytes)
    }
    public static func - (a: Self, b: Self) -> Self {
        Self(gpus: a.gpus - b.gpus, cpus: a.cpus - b.cpus, memoryBytes: a.memoryBytes - b.memoryBytes, diskBytes: a.diskBytes - b.diskBytes)
    }
    /// Component-wise minimum.
    public func meet(_ o: Self) -> Self {
        Self(gpus: min(gpus, o.gpus), cpus: min(cpus, o.cpus), memoryBytes: min(memoryBytes, o.memoryBytes), diskBytes: min(diskBytes, o.diskBytes))
    }
    /// No component below zero.
    public var clamped: Self { Self(gpus: max(0, gpus), cpus: max(0, cpus), memoryBytes: max(0, memoryBytes), diskBytes: max(0, diskBytes)) }
    /// The largest fraction of `capacity` this amount is of any resource the node has (its dominant share).
    public func dominantShare(of capacity: Self) -> Double {
        var s = 0.0
        if capacity.gpus > 0 { s = max(s, Double(gpus) / Double(capacity.gpus)) }
        if capacity.cpus > 0 { s = max(s, cpus / capacity.cpus) }
        if capacity.memoryBytes > 0 { s = max(s, Double(memoryBytes) / Double(capacity.memoryBytes)) }
        if capacity.diskBytes > 0 && capacity.diskBytes < Self.unlimitedDisk { s = max(s, Double(diskBytes) / Double(capacity.diskBytes)) }
        return s
    }
    /// "2 GPUs, 8 CPUs, 64 GiB".
    public var text: String {
        var parts = [String]()
        if gpus > 0 { parts.append("\(gpus) GPU\(gpus == 1 ? "" : "s")") }
        parts.append("\(cpus == cpus.rounded() ? String(Int(cpus)) : String(cpus)) CPU\(cpus == 1 ? "" : "s")")
        parts.append("\(memoryBytes >> 30) GiB")
        return parts.joined(separator: ", ")
    }
}
