/// SplitMix64: a small, fast, seedable generator; the same seed gives the same simulation on every machine.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    public mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &self) < p }
    public mutating func uniform(_ a: Double, _ b: Double) -> Double { Double.random(in: a..<b, using: &self) }
    public mutating func int(_ r: ClosedRange<Int>) -> Int { Int.random(in: r, using: &self) }
    /// Uniform in [0, 1) from the top 53 bits.
    public mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
    public mutating func exponential(mean: Double) -> Double {
        var u = unit()
        while u <= 0 { u = unit() }
        return -mean * _log(u)
    }
}

#if canImport(Glibc)
@preconcurrency import Glibc
func _log(_ x: Double) -> Double { Glibc.log(x) }
#else
import Darwin
func _log(_ x: Double) -> Double { Darwin.log(x) }
#endif
