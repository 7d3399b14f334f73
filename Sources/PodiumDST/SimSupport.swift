/// SplitMix64: a small, fast, seedable generator; the same seed gives the same simulation on every machine.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
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
}

/// A min-heap of timed items; ties go in insertion order, so the simulation is deterministic. The heap moves small
/// (time, order, slot) entries; the items stay in their slots.
struct TimedQueue<Item> {
    private var heap: [(at: Double, seq: Int, slot: Int)] = []
    private var slots: [Item?] = []
    private var free: [Int] = []
    private var seq = 0
    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }

    mutating func push(_ item: Item, at: Double) {
        seq += 1
        let slot: Int
        if let f = free.popLast() { slot = f; slots[f] = item } else { slot = slots.count; slots.append(item) }
        heap.append((at, seq, slot))
        var i = heap.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            guard less(i, p) else { break }
            heap.swapAt(i, p)
            i = p
        }
    }

    mutating func pop() -> (at: Double, item: Item)? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < heap.count && less(l, m) { m = l }
            if r < heap.count && less(r, m) { m = r }
            if m == i { break }
            heap.swapAt(i, m)
            i = m
        }
        let item = slots[top.slot].take()!
        free.append(top.slot)
        return (top.at, item)
    }

    private func less(_ a: Int, _ b: Int) -> Bool { (heap[a].at, heap[a].seq) < (heap[b].at, heap[b].seq) }
}
