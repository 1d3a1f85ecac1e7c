/// Runs a `RegexProgram` over UTF-8 text in time linear in the text for each search (Pike's VM): every
/// instruction is active at most once per position, so a pattern like `(a+)+$` cannot take exponential time.
/// Matches follow Oniguruma's leftmost-first rules, as the backtracking engine in `tokenizers` would find them.
/// One matcher serves one text; its scratch memory is sized by the program, allocated once and freed at the end.
final class RegexMatcher {
    private let flat: FlatRegex
    private let text: UnsafeBufferPointer<UInt8>
    private let n: Int
    private let word: ScalarSet
    /// Where each lookaround holds, per byte position (1 or 0): one scan each, before the searches.
    private let lookHolds: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>
    // Per-instruction mark of the thread list it was last added to; the closure stack; two thread lists.
    private let marks: UnsafeMutablePointer<UInt32>
    private let generation: UnsafeMutablePointer<UInt32>
    private let stack: UnsafeMutablePointer<Int32>
    private let lists: [ThreadList]

    /// Threads waiting to consume the character at a position: instruction and start of their match.
    struct ThreadList {
        let pcs: UnsafeMutablePointer<Int32>
        let starts: UnsafeMutablePointer<Int>
    }

    init(_ flat: FlatRegex, _ text: UnsafeBufferPointer<UInt8>) {
        self.flat = flat
        self.text = text
        n = text.count
        word = flat.usesWordBoundary ? UnicodeSets.wordOutsideClass : .empty
        let m = flat.count
        lookHolds = .allocate(capacity: max(1, flat.looks.count))
        lookHolds.initialize(repeating: nil, count: max(1, flat.looks.count))
        marks = .allocate(capacity: m)
        marks.initialize(repeating: 0, count: m)
        generation = .allocate(capacity: 1)
        generation.initialize(to: 0)
        stack = .allocate(capacity: 2 * m + 2)
        lists = (0..<4).map { _ in ThreadList(pcs: .allocate(capacity: m), starts: .allocate(capacity: m)) }
    }

    deinit {
        for k in 0..<max(1, flat.looks.count) { lookHolds[k]?.deallocate() }
        lookHolds.deallocate()
        marks.deallocate()
        generation.deallocate()
        stack.deallocate()
        for l in lists { l.pcs.deallocate(); l.starts.deallocate() }
    }

    /// All matches, left to right, as `onig`'s `find_iter` returns them: after an empty match, an empty match
    /// at the end of the previous match is skipped by moving on one character.
    func allMatches() -> [Range<Int>] {
        // Lookarounds first, inner ones (compiled later, higher indices) before those that use them: a scan shares
        // the marks with the searches, so none may start in the middle of another.
        for k in flat.looks.indices.reversed() { lookHolds[k] = scanLook(flat.looks[k]) }
        var out: [Range<Int>] = []
        var at = 0
        var lastEnd: Int?
        while at <= n, let m = search(from: at) {
            if m.isEmpty && lastEnd == m.upperBound {
                if at >= n { break }
                at += decodeUTF8(text, at).length
                continue
            }
            out.append(m)
            at = m.upperBound
            lastEnd = m.upperBound
        }
        return out
    }

    // MARK: Positions

    /// The code point ending at `pos` and its length.
    @inline(__always) private func scalar(before pos: Int) -> (UInt32, Int) {
        var start = pos - 1
        while start > 0 && text[start] & 0xC0 == 0x80 { start -= 1 }
        return (decodeUTF8(text, start).value, pos - start)
    }

    private func holds(_ a: RegexAssertion, _ pos: Int) -> Bool {
        switch a {
        case .lineStart: return pos == 0 || text[pos - 1] == 0x0A
        case .lineEnd: return pos == n || text[pos] == 0x0A
        case .textStart: return pos == 0
        case .textEnd: return pos == n
        case .textEndOrFinalNewline: return pos == n || (pos == n - 1 && text[pos] == 0x0A)
        case .wordBoundary, .notWordBoundary:
            let before = pos > 0 && word.contains(scalar(before: pos).0)
            let after = pos < n && word.contains(decodeUTF8(text, pos).value)
            return (before != after) == (a == .wordBoundary)
        }
    }

    private func lookHolds(_ k: Int, _ pos: Int) -> Bool { lookHolds[k]?[pos] == 1 }

    // MARK: Threads

    @inline(__always) private func newGeneration() {
        generation.pointee &+= 1
        if generation.pointee == 0 {  // wrapped: clear the marks once every 2^32 positions
            marks.update(repeating: 0, count: flat.count)
            generation.pointee = 1
        }
    }

    /// Adds the thread at `pc` and everything reachable from it without consuming text, in priority order.
    private func add(_ list: ThreadList, _ count: inout Int, _ pc: Int32, start: Int, at pos: Int) {
        var top = 0
        stack[0] = pc
        top = 1
        let gen = generation.pointee
        while top > 0 {
            top -= 1
            let at = Int(stack[top])
            if marks[at] == gen { continue }
            marks[at] = gen
            switch flat.op[at] {
            case FlatRegex.jump: stack[top] = flat.a[at]; top += 1
            case FlatRegex.split:
                stack[top] = flat.b[at]
                stack[top + 1] = flat.a[at]
                top += 2
            case FlatRegex.assert:
                if holds(flat.assertions[Int(flat.a[at])], pos) { stack[top] = Int32(at + 1); top += 1 }
            case FlatRegex.look:
                let k = Int(flat.a[at])
                if lookHolds(k, pos) != flat.looks[k].negated { stack[top] = Int32(at + 1); top += 1 }
            default:  // consumes a character, or matches
                list.pcs[count] = Int32(at)
                list.starts[count] = start
                count += 1
            }
        }
    }

    /// The leftmost-first match starting at `from` or later.
    private func search(from: Int) -> Range<Int>? {
        var match: Range<Int>?
        var current = lists[0], next = lists[1]
        var currentCount = 0, nextCount = 0
        newGeneration()
        add(current, &currentCount, flat.main, start: from, at: from)
        var pos = from
        while true {
            let (c, len) = pos < n ? decodeUTF8(text, pos) : (0, 0)
            newGeneration()
            nextCount = 0
            var t = 0
            while t < currentCount {
                let pc = Int(current.pcs[t])
                if flat.op[pc] == FlatRegex.match {
                    // Later threads have lower priority: they are cut.
                    match = current.starts[t]..<pos
                    break
                }
                if pos < n && flat.contains(set: Int(flat.a[pc]), c) {
                    add(next, &nextCount, Int32(pc + 1), start: current.starts[t], at: pos + len)
                }
                t += 1
            }
            if pos >= n { break }
            pos += len
            if match == nil { add(next, &nextCount, flat.main, start: pos, at: pos) }  // a later start, lowest priority
            if nextCount == 0 && match != nil { break }
            swap(&current, &next)
            swap(&currentCount, &nextCount)
        }
        return match
    }

    /// Where lookaround `look` holds, at every position: one scan with threads starting everywhere. A lookahead's
    /// reversed program runs from the end of the text backward, a lookbehind's forward.
    private func scanLook(_ look: RegexLook) -> UnsafeMutablePointer<UInt8> {
        let result = UnsafeMutablePointer<UInt8>.allocate(capacity: n + 1)
        result.initialize(repeating: 0, count: n + 1)
        var list = lists[2], following = lists[3]
        var count = 0, followingCount = 0
        var pos = look.ahead ? n : 0
        newGeneration()
        while true {
            add(list, &count, Int32(look.entry), start: 0, at: pos)
            let edge = look.ahead ? pos == 0 : pos == n
            let (c, len) = edge ? (0, 0) : (look.ahead ? scalar(before: pos) : decodeUTF8(text, pos))
            let target = look.ahead ? pos - len : pos + len
            newGeneration()
            followingCount = 0
            for t in 0..<count {
                let pc = Int(list.pcs[t])
                if flat.op[pc] == FlatRegex.match { result[pos] = 1 }
                else if !edge && flat.contains(set: Int(flat.a[pc]), c) {
                    add(following, &followingCount, Int32(pc + 1), start: 0, at: target)
                }
            }
            if edge { break }
            pos = target
            swap(&list, &following)
            swap(&count, &followingCount)
        }
        return result
    }
}
