/// A set of integers as CPython 3.11 lays it out (open addressing, 9 linear probes then perturbation, growth at 60%
/// fill to 4× the used count), so that printing `set(a) - set(b)` gives Python's order: MLE-bench's "missing ids"
/// messages print such a set. Integers below 2^61 hash to themselves.
struct PythonIntSet {
    private var table: [Int?] = Array(repeating: nil, count: 8)
    private var used = 0
    private var mask: Int { table.count - 1 }
    static let linearProbes = 9, perturbShift = 5

    init() {}
    init(_ values: [Int]) { for v in values { insert(v) } }

    func contains(_ v: Int) -> Bool {
        var i = v & mask, perturb = UInt(bitPattern: v)
        while true {
            let probes = i + Self.linearProbes <= mask ? Self.linearProbes : 0
            for j in 0...probes {
                guard let k = table[i + j] else { return false }
                if k == v { return true }
            }
            perturb >>= UInt(Self.perturbShift)
            i = (i &* 5 &+ 1 &+ Int(bitPattern: perturb)) & mask
        }
    }

    mutating func insert(_ v: Int) {
        if contains(v) { return }
        Self.place(v, in: &table)
        used += 1
        if used * 5 >= mask * 3 { resize(minUsed: used > 50_000 ? used * 2 : used * 4) }
    }

    private static func place(_ v: Int, in table: inout [Int?]) {
        let mask = table.count - 1
        var i = v & mask, perturb = UInt(bitPattern: v)
        while true {
            let probes = i + linearProbes <= mask ? linearProbes : 0
            for j in 0...probes where table[i + j] == nil {
                table[i + j] = v
                return
            }
            perturb >>= UInt(perturbShift)
            i = (i &* 5 &+ 1 &+ Int(bitPattern: perturb)) & mask
        }
    }

    private mutating func resize(minUsed: Int) {
        var size = 8
        while size <= minUsed { size <<= 1 }
        var fresh = [Int?](repeating: nil, count: size)
        for case let v? in table { Self.place(v, in: &fresh) }
        table = fresh
    }

    /// Iteration order (what `repr` prints).
    var elements: [Int] { table.compactMap { $0 } }

    /// `self - other`, built as CPython builds it: this set's elements in its order, added to a new set.
    func subtracting(_ other: PythonIntSet) -> PythonIntSet {
        var out = PythonIntSet()
        for v in elements where !other.contains(v) { out.insert(v) }
        return out
    }

    var repr: String { "{" + elements.map(String.init).joined(separator: ", ") + "}" }
}
