import Compute
import Foundation
import ModelFormats

/// Checks of the row-wise building blocks and interventions. Every case writes into tensors filled
/// with random values and compares the whole tensor, so writing outside the intended rows or columns fails.
extension BackendChecker {
    /// Whole rows in and out of place (Gemma's `1 + w`, a 16-bit weight, an eps that matters), and
    /// per-head groups at column offsets, in place and into another tensor's columns.
    func checkRMSNorm() throws {
        let (plain, plainValues) = try weight("norm", rows: 1, cols: 40)
        let (half, halfValues) = try weight("norm.bf16", rows: 1, cols: 40, dtype: .bf16, keepHalf: true)
        var x = random.grid(6, 40, scale: 3), out = random.grid(6, 40)
        let xt = upload(x), ot = upload(out)
        backend.rmsNorm(xt, rows: 1..<5, column: 0, width: 40, groups: 1, weight: plain, offset: 0, eps: 1e-6, out: ot, outColumn: 0)
        ReferenceOps.rmsNorm(x, rows: 1..<5, column: 0, width: 40, groups: 1, weight: plainValues, offset: 0, eps: 1e-6,
                             out: &out, outColumn: 0)
        expect(ot, out, "rmsNorm", "whole rows")
        expect(xt, x, "rmsNorm", "input untouched")
        backend.rmsNorm(xt, rows: 2..<6, column: 0, width: 40, groups: 1, weight: half, offset: 1, eps: 0.5, out: xt, outColumn: 0)
        ReferenceOps.rmsNorm(x, rows: 2..<6, column: 0, width: 40, groups: 1, weight: halfValues, offset: 1, eps: 0.5,
                             out: &x, outColumn: 0)
        expect(xt, x, "rmsNorm", "in place, offset 1, bf16 weight")

        // A fused [pad | q (4 heads) | k (2 heads) | pad] row, heads of 12: q/k norms in place.
        let (qNorm, qValues) = try weight("q_norm", rows: 1, cols: 12)
        let (kNorm, kValues) = try weight("k_norm", rows: 1, cols: 12, dtype: .f16)
        var qkv = random.grid(5, 80, scale: 2)
        let qkvt = upload(qkv)
        backend.rmsNorm(qkvt, rows: 1..<4, column: 3, width: 12, groups: 4, weight: qNorm, offset: 0, eps: 1e-6, out: qkvt, outColumn: 3)
        ReferenceOps.rmsNorm(qkv, rows: 1..<4, column: 3, width: 12, groups: 4, weight: qValues, offset: 0, eps: 1e-6,
                             out: &qkv, outColumn: 3)
        backend.rmsNorm(qkvt, rows: 1..<4, column: 51, width: 12, groups: 2, weight: kNorm, offset: 0, eps: 1e-6, out: qkvt, outColumn: 51)
        ReferenceOps.rmsNorm(qkv, rows: 1..<4, column: 51, width: 12, groups: 2, weight: kValues, offset: 0, eps: 1e-6,
                             out: &qkv, outColumn: 51)
        expect(qkvt, qkv, "rmsNorm", "per head in place")
        // Into another tensor's columns, from a fresh fused row (the one above holds computed values now).
        qkv = random.grid(5, 80, scale: 2)
        var heads = random.grid(5, 30)
        let headst = upload(heads)
        backend.rmsNorm(upload(qkv), rows: 0..<5, column: 51, width: 12, groups: 2, weight: kNorm, offset: 1, eps: 1e-5, out: headst, outColumn: 4)
        ReferenceOps.rmsNorm(qkv, rows: 0..<5, column: 51, width: 12, groups: 2, weight: kValues, offset: 1, eps: 1e-5,
                             out: &heads, outColumn: 4)
        expect(headst, heads, "rmsNorm", "per head into other columns")
    }

    /// Every dtype, kept 16-bit or converted, aligned or not; one row (GEMV), a few, many (GEMM); with
    /// and without a bias (F32 or 16-bit); input and output at column offsets, rows not from 0.
    func checkLinear() throws {
        for dtype in [DType.f32, .bf16, .f16] {
            for keepHalf in [false, true] {
                for misaligned in [false, true] {
                    let (w, values) = try weight("w", rows: 37, cols: 21, dtype: dtype, keepHalf: keepHalf, misaligned: misaligned)
                    for (k, m) in [1, 3, 6].enumerated() {
                        let bias = k == 0 ? nil : try weight("b", rows: 1, cols: 37, dtype: k == 1 ? .f32 : dtype, keepHalf: keepHalf)
                        linearCase("\(dtype) keepHalf=\(keepHalf) misaligned=\(misaligned) rows=\(m) bias=\(bias != nil)",
                                   w, values, bias, rows: m)
                    }
                }
            }
        }
        // Tall enough that converting a kept 16-bit matrix takes several row blocks (1 MiB of floats each on the CPU).
        guard includesLargeCases else { return }
        let (tall, values) = try weight("tall", rows: 65_600, cols: 16, dtype: .bf16, keepHalf: true)
        linearCase("tall bf16", tall, values, nil, rows: 5)
        // Many input and weight rows, kept 16-bit and converted: on the CPU, products split into blocks of
        // both (at most 512 × 256), panels of 32 rows with a partial last one, a decode batch's narrow
        // blocks, the matrix-vector kernel (up to 16 rows) and packing per call above it.
        for dtype in [DType.f32, .bf16, .f16] {
            for keepHalf in [true, false] {
                let (w, v) = try weight("wide", rows: 300, cols: 37, dtype: dtype, keepHalf: keepHalf)
                for m in [2, 4, 16, 17, 70, 600] { linearCase("\(dtype) keepHalf=\(keepHalf) 300 × 37, rows=\(m)", w, v, nil, rows: m) }
            }
        }
    }

    func linearCase(_ what: String, _ w: Weight, _ values: Grid, _ bias: (weight: Weight, values: Grid)?, rows m: Int) {
        let first = 2, xColumn = 3, column = 4
        let x = random.grid(first + m + 1, xColumn + w.cols + 2)
        var out = random.grid(first + m + 1, column + w.rows + 3)
        let ot = upload(out)
        backend.linear(upload(x), rows: first..<(first + m), xColumn: xColumn, weight: w, bias: bias?.weight, out: ot, column: column)
        ReferenceOps.linear(x, rows: first..<(first + m), xColumn: xColumn, weight: values, bias: bias?.values, out: &out, column: column)
        expect(ot, out, "linear", what)
    }

    /// Joined weights (where the backend joins) compute the stacked product; parts of different widths never join.
    func checkJoined() throws {
        let parts = [try weight("q", rows: 5, cols: 19, dtype: .bf16), try weight("k", rows: 7, cols: 19, dtype: .bf16),
                     try weight("v", rows: 3, cols: 19, dtype: .f16)]
        if let joined = backend.joined(parts.map(\.weight)) {
            require(joined.rows == 15 && joined.cols == 19, "joined: \(joined.rows) × \(joined.cols)")
            let stacked = Grid(rows: 15, cols: 19, floats: parts.flatMap(\.values.values).map { Float($0) })
            linearCase("joined q+k+v", joined, stacked, nil, rows: 3)
            linearCase("joined q+k+v", joined, stacked, nil, rows: 1)
        }
        require(backend.joined([parts[0].weight, try weight("other", rows: 4, cols: 18, dtype: .bf16).weight]) == nil,
                "joined parts of 19 and 18 columns")
    }

    /// Parts run as one operation (kept 16-bit, so the CPU does not join them: one parallel loop over
    /// every part's blocks) compute the stacked product side by side, for the matrix-vector kernel's
    /// row counts and above them.
    func checkLinearParts() throws {
        let parts = [try weight("q", rows: 300, cols: 37, dtype: .bf16, keepHalf: true),
                     try weight("k", rows: 7, cols: 37, dtype: .f16, keepHalf: true),
                     try weight("v", rows: 33, cols: 37, dtype: .bf16, keepHalf: true, misaligned: true)]
        let stacked = Grid(rows: 340, cols: 37, floats: parts.flatMap(\.values.values).map { Float($0) })
        for m in [1, 3, 16, 17] {
            let first = 1, xColumn = 2, column = 3
            let x = random.grid(first + m + 1, xColumn + 37 + 1)
            var out = random.grid(first + m + 1, column + 340 + 2)
            let ot = upload(out)
            backend.linear(upload(x), rows: first..<(first + m), xColumn: xColumn, parts: parts.map(\.weight), out: ot, column: column)
            ReferenceOps.linear(x, rows: first..<(first + m), xColumn: xColumn, weight: stacked, bias: nil, out: &out, column: column)
            expect(ot, out, "linear(parts:)", "q+k+v kept 16-bit, rows=\(m)")
        }
    }

    /// addBias, gated activations, add, softcap, scale, gather and copyRows.
    func checkElementwise() throws {
        let (bias, biasValues) = try weight("bias", rows: 1, cols: 9, dtype: .bf16, keepHalf: true)
        var x = random.grid(5, 15)
        var xt = upload(x)
        backend.addBias(bias, to: xt, rows: 1..<4, column: 5)
        ReferenceOps.addBias(biasValues, to: &x, rows: 1..<4, column: 5)
        expect(xt, x, "addBias", "rows 1..<4 at column 5")

        // Width 19: SIMD blocks and a tail; gates wide enough to saturate both activations.
        for kind in [MLPActivation.silu, .geluTanh] {
            let gateUp = Grid(rows: 5, cols: 38, floats: (0..<5).flatMap { _ in random.floats(19, scale: 9) + random.floats(19, scale: 2) })
            var out = random.grid(5, 21)
            let ot = upload(out)
            backend.gatedActivation(upload(gateUp), rows: 1..<4, width: 19, kind: kind, out: ot)
            ReferenceOps.gatedActivation(gateUp, rows: 1..<4, width: 19, kind: kind, out: &out)
            expect(ot, out, "gatedActivation", "\(kind)")
        }

        x = random.grid(5, 13)
        var y = random.grid(5, 13)
        let yt = upload(y)
        backend.add(upload(x), into: yt, rows: 1..<3)
        ReferenceOps.add(x, into: &y, rows: 1..<3)
        expect(yt, y, "add", "rows 1..<3")

        x = random.grid(5, 13, scale: 90)
        xt = upload(x)
        backend.softcap(xt, rows: 1..<5, cap: 30)
        ReferenceOps.softcap(&x, rows: 1..<5, cap: 30)
        expect(xt, x, "softcap", "cap 30")
        // Each case starts from exact inputs: a bound covers one operation's rounding, not a chain's.
        x = random.grid(5, 13)
        xt = upload(x)
        backend.scale(xt, rows: 0..<2, by: 0.37)
        ReferenceOps.scale(&x, rows: 0..<2, by: 0.37)
        expect(xt, x, "scale", "rows 0..<2")

        let src = random.grid(6, 9)
        var dst = random.grid(8, 9)
        let srct = upload(src), dstt = upload(dst)
        backend.gather(srct, rows: [4, 0, 4, 2], into: dstt, row: 3)
        ReferenceOps.gather(src, rows: [4, 0, 4, 2], into: &dst, row: 3)
        expect(dstt, dst, "gather", "repeated rows into row 3")
        backend.copyRows(srct, from: 1, count: 3, into: dstt, to: 5)
        ReferenceOps.copyRows(src, from: 1, count: 3, into: &dst, to: 5)
        expect(dstt, dst, "copyRows", "rows 1..<4 to 5")
    }

    /// projectOut and addVector on row ranges and unordered row lists; accumulate into several
    /// targets (repeated ones too), twice, from a zeroed accumulator.
    func checkInterventions() {
        let width = 23
        let raw = random.floats(width), norm = raw.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let unit = Grid(rows: 1, cols: width, floats: raw.map { $0 / norm })
        var x = random.grid(6, width, scale: 4)
        var xt = upload(x)
        let ut = upload(unit)
        for (rows, strength) in [(RowSet.range(1..<4), Float(1)), (.list([5, 0, 4]), 0.6)] {
            backend.projectOut(xt, rows: rows, unit: ut, strength: strength)
            ReferenceOps.projectOut(&x, rows: rows, unit: unit, strength: strength)
            expect(xt, x, "projectOut", "\(rows) strength \(strength)")
        }
        // Rows of the list are disjoint from the range: each row sees one rounded operation.
        x = random.grid(6, width, scale: 4)
        xt = upload(x)
        let vector = random.grid(1, width), vt = upload(vector)
        for (rows, scale) in [(RowSet.range(2..<5), Float(1)), (.list([5, 1]), -2.5)] {
            backend.addVector(vt, scale: scale, to: xt, rows: rows)
            ReferenceOps.addVector(vector, scale: scale, to: &x, rows: rows)
            expect(xt, x, "addVector", "\(rows) scale \(scale)")
        }

        x = random.grid(6, width, scale: 4)
        xt = upload(x)
        let acc = backend.accumulator(rows: 3, cols: width)
        require(acc.rows == 3 && acc.cols == width, "accumulator: shape")
        var sums = Grid(rows: 3, cols: width, floats: [Float](repeating: 0, count: 3 * width))
        compare(backend.read(acc), sums, "accumulate", "zeroed")
        for (rows, targets) in [([5, 1, 2, 5, 0], [2, 0, 2, 1, 2]), ([3], [1])] {
            backend.accumulate(xt, rows: rows, into: acc, targets: targets)
            ReferenceOps.accumulate(x, rows: rows, into: &sums, targets: targets)
            compare(backend.read(acc), sums, "accumulate", "rows \(rows) into \(targets)")
        }
    }
}
