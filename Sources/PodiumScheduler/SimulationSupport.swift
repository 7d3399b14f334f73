import PodiumCore

/// A min-heap of timed items; ties go in insertion order, so the simulation is deterministic. The heap moves small
/// (time, order, slot) entries; the items stay in their slots.
public struct TimedQueue<Item> {
    private var heap: [(at: Double, seq: Int, slot: Int)] = []
    private var slots: [Item?] = []
    private var free: [Int] = []
    private var seq = 0
    public init() {}
    public var isEmpty: Bool { heap.isEmpty }
    public var count: Int { heap.count }

    public mutating func push(_ item: Item, at: Double) {
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

    public mutating func pop() -> (at: Double, item: Item)? {
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
