import Foundation

/// Routed experts on the CPU (`ComputeBackend.experts`): every row is routed, rows are grouped per
/// expert, and each expert's gate/up and down products run on its rows only, so a prefill costs the
/// active parameters, not all of them. Each row's weighted expert outputs are then added in increasing
/// expert index, the order of transformers' `index_add_` loop.
///
/// The work items are (expert, block of at most `expertBlockRows` of its rows), fixed by the routing
/// alone. Each item runs single-threaded on whichever thread takes it and writes only its own output
/// slots, and a product's values do not depend on its split (`Matrix.apply`), so the result does not
/// depend on the thread count.
extension CPUBackend {
    /// Rows of one expert computed in one item (enough for efficient products, small enough to spread
    /// a prefill's experts over the threads).
    static let expertBlockRows = 64

    public func experts(_ x: Tensor, rows: Range<Int>, weights w: ExpertWeights, spec s: ExpertsSpec, out: Tensor) {
        let n = rows.count, e = s.experts, k = s.active, d = out.cols, f = s.width
        guard n > 0, k > 0 else { return }
        let dIn = w.router.cols
        let xp = cpu(x).pointer + rows.lowerBound * x.cols

        // Router logits and each row's choice.
        let logits = FloatBuffer(uninitializedCount: n * e)
        cpu(w.router).matrix.apply(xp, m: n, lda: x.cols, into: logits.pointer, ldy: e)
        if let b = w.routerBias {
            let bias = cpu(b).vector
            for i in 0..<n { Kernels.add(bias, into: logits.pointer + i * e, e) }
        }
        let choices = (0..<n).map { s.routing.choose(logits.pointer + $0 * e, experts: e, k: k) }

        // Rows (and the rank of the expert in the row's choice) per expert, in row order.
        var routed = [[(row: Int, rank: Int)]](repeating: [], count: e)
        for (i, c) in choices.enumerated() { for (j, ex) in c.experts.enumerated() { routed[ex].append((i, j)) } }
        var items: [(expert: Int, part: Range<Int>)] = []
        for ex in 0..<e {
            for start in stride(from: 0, to: routed[ex].count, by: Self.expertBlockRows) {
                items.append((ex, start..<min(routed[ex].count, start + Self.expertBlockRows)))
            }
        }

        // Weighted expert outputs, one slot per (row, rank).
        let slots = FloatBuffer(uninitializedCount: n * k * d)
        Self.expertItems(items.count) { item in
            let (ex, part) = items[item], m = part.count, list = routed[ex][part]
            let input = FloatBuffer(uninitializedCount: m * dIn), gateUp = FloatBuffer(uninitializedCount: m * 2 * f)
            let act = FloatBuffer(uninitializedCount: m * f), y = FloatBuffer(uninitializedCount: m * d)
            for (i, r) in list.enumerated() { (input.pointer + i * dIn).update(from: xp + r.row * x.cols, count: dIn) }
            var column = 0
            for p in w.gateUp[ex] {
                cpu(p).matrix.apply(input.pointer, m: m, lda: dIn, into: gateUp.pointer + column, ldy: 2 * f)
                column += p.rows
            }
            if let b = w.gateUpBias {
                let bias = cpu(b).vector + ex * 2 * f
                for i in 0..<m { Kernels.add(bias, into: gateUp.pointer + i * 2 * f, 2 * f) }
            }
            for i in 0..<m {
                let row = gateUp.pointer + i * 2 * f
                Kernels.gatedActivation(s.activation, gate: row, up: row + f, out: act.pointer + i * f, n: f)
            }
            cpu(w.down[ex]).matrix.apply(act.pointer, m: m, lda: f, into: y.pointer, ldy: d)
            let bias = w.downBias.map { cpu($0).vector + ex * d }
            for (i, r) in list.enumerated() {
                let src = y.pointer + i * d, dst = slots.pointer + (r.row * k + r.rank) * d
                if let bias { Kernels.add(bias, into: src, d) }
                let weight = choices[r.row].weights[r.rank]
                for c in 0..<d { dst[c] = src[c] * weight }
            }
        }

        // Each row: its experts' slots added in increasing expert index.
        let op = cpu(out).pointer + rows.lowerBound * d
        Parallel.forEach(n, cost: k * d) { i in
            let order = (0..<k).sorted { choices[i].experts[$0] < choices[i].experts[$1] }
            let row = op + i * d
            row.update(from: slots.pointer + (i * k + order[0]) * d, count: d)
            for j in order.dropFirst() { Kernels.add(slots.pointer + (i * k + j) * d, into: row, d) }
        }
    }

    /// Runs `count` items on the pool, each single-threaded (its products inline): a product's values do
    /// not depend on how it is split, so neither do the items'.
    static func expertItems(_ count: Int, _ body: (Int) -> Void) {
        // `body` cannot throw, so neither can `jobs` here.
        try? Parallel.jobs(count) { body($0) }
    }
}
