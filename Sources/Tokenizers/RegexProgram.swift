/// One instruction of a compiled pattern (Thompson's construction, as in Pike's VM).
enum RegexInst {
    /// Consume one code point in `sets[k]`.
    case set(Int)
    /// Continue at both; the first has priority.
    case split(Int, Int)
    case jump(Int)
    case assert(RegexAssertion)
    /// Continue only where lookaround `looks[k]` holds.
    case look(Int)
    case match
}

/// A lookaround's own program. A lookahead is compiled reversed and a lookbehind forward, so that one scan over
/// the text (backward or forward) finds every position where it holds.
struct RegexLook {
    let entry: Int
    let ahead: Bool
    let negated: Bool
}

/// A compiled pattern: the instructions of the main program (from `main`) and of each lookaround.
struct RegexProgram {
    private(set) var insts: [RegexInst] = []
    private(set) var sets: [ScalarSet] = []
    private(set) var looks: [RegexLook] = []
    private(set) var main = 0
    /// Whether `\b` / `\B` occur, so the matcher needs the word set.
    private(set) var usesWordBoundary = false
    /// Counted repetitions are unrolled; patterns that would need more instructions are refused.
    static let maxInstructions = 20_000

    init(_ root: RegexNode) throws {
        main = insts.count
        try emit(root, reversed: false)
        _ = try append(.match)
        try finish()
    }

    private mutating func append(_ inst: RegexInst) throws -> Int {
        if insts.count >= Self.maxInstructions {
            throw RegexSyntaxError(message: "pattern too large (more than \(Self.maxInstructions) instructions once repetitions are unrolled)", offset: 0)
        }
        insts.append(inst)
        return insts.count - 1
    }

    private mutating func patch(_ at: Int, _ inst: RegexInst) { insts[at] = inst }

    private mutating func emit(_ node: RegexNode, reversed: Bool) throws {
        switch node {
        case .empty: break
        case .set(let s):
            sets.append(s)
            _ = try append(.set(sets.count - 1))
        case .concat(let items):
            for item in reversed ? items.reversed() : items { try emit(item, reversed: reversed) }
        case .alternation(let branches):
            var exits: [Int] = []
            for (k, branch) in branches.enumerated() {
                if k == branches.count - 1 { try emit(branch, reversed: reversed); break }
                let split = try append(.match)  // placeholder
                try emit(branch, reversed: reversed)
                exits.append(try append(.match))
                patch(split, .split(split + 1, insts.count))
            }
            for e in exits { patch(e, .jump(insts.count)) }
        case .repetition(let body, let min, let max, let lazy):
            for _ in 0..<min { try emit(body, reversed: reversed) }
            if let max {
                // Optional copies, each skipping to the end.
                var skips: [Int] = []
                for _ in min..<max {
                    skips.append(try append(.match))
                    try emit(body, reversed: reversed)
                }
                for s in skips { patch(s, lazy ? .split(insts.count, s + 1) : .split(s + 1, insts.count)) }
            } else {
                let loop = try append(.match)
                try emit(body, reversed: reversed)
                _ = try append(.jump(loop))
                patch(loop, lazy ? .split(insts.count, loop + 1) : .split(loop + 1, insts.count))
            }
        case .assertion(let a):
            if a == .wordBoundary || a == .notWordBoundary { usesWordBoundary = true }
            _ = try append(.assert(a))
        case .look(let inner, let ahead, let negated):
            // The lookaround's program goes after everything else; it is emitted once the placeholder is set.
            let at = try append(.match)
            let k = looks.count
            looks.append(RegexLook(entry: -1, ahead: ahead, negated: negated))
            pending.append((k, inner))
            patch(at, .look(k))
        }
    }

    /// Lookarounds waiting to be compiled after the program that uses them.
    private var pending: [(Int, RegexNode)] = []

    /// Compiles the pending lookarounds (and those nested in them).
    private mutating func finish() throws {
        while let (k, inner) = pending.popLast() {
            let entry = insts.count
            try emit(inner, reversed: looks[k].ahead)
            _ = try append(.match)
            looks[k] = RegexLook(entry: entry, ahead: looks[k].ahead, negated: looks[k].negated)
        }
    }
}

/// A `RegexProgram` laid out for the matcher: instruction kinds and operands in flat buffers, and each set as an
/// ASCII bitmap plus sorted ranges, so that matching a character touches no reference counts.
final class FlatRegex: @unchecked Sendable {
    static let set: UInt8 = 0, split: UInt8 = 1, jump: UInt8 = 2, assert: UInt8 = 3, look: UInt8 = 4, match: UInt8 = 5

    let count: Int
    let op: UnsafeMutablePointer<UInt8>
    /// First operand: the set, target, assertion or lookaround index; second: a split's other target.
    let a: UnsafeMutablePointer<Int32>
    let b: UnsafeMutablePointer<Int32>
    let assertions: [RegexAssertion]
    let looks: [RegexLook]
    let main: Int32
    let usesWordBoundary: Bool
    private let bits: UnsafeMutablePointer<UInt64>
    private let offsets: UnsafeMutablePointer<Int>
    private let lows: UnsafeMutablePointer<UInt32>
    private let highs: UnsafeMutablePointer<UInt32>

    init(_ program: RegexProgram) {
        count = program.insts.count
        op = .allocate(capacity: count)
        a = .allocate(capacity: count)
        b = .allocate(capacity: count)
        var assertions: [RegexAssertion] = []
        for (k, inst) in program.insts.enumerated() {
            var kind = FlatRegex.match, x = 0, y = 0
            switch inst {
            case .set(let s): kind = FlatRegex.set; x = s
            case .split(let p, let q): kind = FlatRegex.split; x = p; y = q
            case .jump(let t): kind = FlatRegex.jump; x = t
            case .assert(let r): kind = FlatRegex.assert; x = assertions.count; assertions.append(r)
            case .look(let l): kind = FlatRegex.look; x = l
            case .match: break
            }
            op[k] = kind
            a[k] = Int32(x)
            b[k] = Int32(y)
        }
        self.assertions = assertions
        looks = program.looks
        main = Int32(program.main)
        usesWordBoundary = program.usesWordBoundary
        let sets = program.sets
        bits = .allocate(capacity: 2 * max(1, sets.count))
        offsets = .allocate(capacity: sets.count + 1)
        let total = sets.reduce(0) { $0 + $1.lows.count }
        lows = .allocate(capacity: max(1, total))
        highs = .allocate(capacity: max(1, total))
        var at = 0
        for (k, s) in sets.enumerated() {
            offsets[k] = at
            var low: UInt64 = 0, high: UInt64 = 0
            for v in UInt32(0)..<128 where s.contains(v) { if v < 64 { low |= 1 << UInt64(v) } else { high |= 1 << UInt64(v - 64) } }
            bits[2 * k] = low
            bits[2 * k + 1] = high
            for (lo, hi) in zip(s.lows, s.highs) { lows[at] = lo; highs[at] = hi; at += 1 }
        }
        offsets[sets.count] = at
    }

    deinit {
        op.deallocate(); a.deallocate(); b.deallocate()
        bits.deallocate(); offsets.deallocate(); lows.deallocate(); highs.deallocate()
    }

    /// Whether set `k` holds code point `v`.
    @inline(__always)
    func contains(set k: Int, _ v: UInt32) -> Bool {
        if v < 128 { return bits[2 * k + Int(v >> 6)] & (1 << UInt64(v & 63)) != 0 }
        var lo = offsets[k], hi = offsets[k + 1]
        let first = lo
        while lo < hi {
            let mid = (lo + hi) >> 1
            if lows[mid] <= v { lo = mid + 1 } else { hi = mid }
        }
        return lo > first && v <= highs[lo - 1]
    }
}
