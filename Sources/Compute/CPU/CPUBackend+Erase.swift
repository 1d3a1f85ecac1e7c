import Foundation

/// The affine low-rank edit of `ComputeBackend.erase` (a LEACE eraser) on the CPU.
extension CPUBackend {
    /// Row by row: `c = x − bias` into a scratch row, the k coefficients `c·rightⱼ`, then `x −= Σⱼ coefⱼ·leftⱼ`.
    /// Subtracting the bias first keeps the dot products free of the cancellation `x·r − bias·r` would have
    /// when the stream carries a large mean (most residual streams do). Every coefficient is computed before
    /// the row changes.
    public func erase(_ x: Tensor, rows: RowSet, left: Tensor, right: Tensor, bias: Tensor) {
        let p = cpu(x).pointer, l = cpu(left).pointer, r = cpu(right).pointer, b = cpu(bias).pointer
        let d = x.cols, k = min(left.rows, right.rows)
        let list: [Int]
        switch rows { case .range(let range): list = Array(range); case .list(let l): list = l }
        Parallel.forEach(list.count, cost: (2 * k + 1) * d) { i in
            let row = p + list[i] * d
            withUnsafeTemporaryAllocation(of: Float.self, capacity: d + k) { scratch in
                guard let centred = scratch.baseAddress else { return }
                let coefficients = centred + d
                for c in 0..<d { centred[c] = row[c] - b[c] }
                for j in 0..<k { coefficients[j] = Kernels.dot(centred, r + j * d, d) }
                for j in 0..<k { Kernels.axpy(-coefficients[j], l + j * d, row, d) }
            }
        }
    }
}
