import CCUDA
import Compute
import Foundation

/// The backward operations on the device (input gradients only; see `ComputeBackend`).
extension CUDABackend {
    public func zero(_ x: Tensor, rows: Range<Int>) {
        run { try device.zero(cuda(x).at(rows.lowerBound), bytes: rows.count * x.cols * 4) }
    }

    public func linearInputGradient(_ dy: Tensor, rows: Range<Int>, dyColumn: Int, weight: Weight, out: Tensor, column: Int,
                                    accumulate: Bool) {
        guard !rows.isEmpty else { return }
        run {
            // Outᵀ (k × m, ld out.cols) = W's column-major view (k × n, untransposed) · dYᵀ (n × m, ld dy.cols).
            try product(weight, transposed: false, m: weight.cols, n: rows.count, k: weight.rows, input: cuda(dy),
                        row: rows.lowerBound, column: dyColumn, out: cuda(out).at(rows.lowerBound, column), ldc: out.cols,
                        accumulate: accumulate)
        }
    }

    public func rmsNormBackward(_ x: Tensor, rows: Range<Int>, column: Int, width: Int, groups: Int, weight: Weight,
                                offset: Float, eps: Float, gradient dy: Tensor, dyColumn: Int, out: Tensor, outColumn: Int,
                                accumulate: Bool) {
        run {
            try device.launch("rms_norm_backward", grid: (rows.count, groups), [
                .pointer(cuda(x).buffer.pointer), .int(x.cols), .int(column), .int(rows.lowerBound), .int(width),
                .pointer(cuda(weight).buffer.pointer), .float(offset), .float(eps), .pointer(cuda(dy).buffer.pointer), .int(dy.cols),
                .int(dyColumn), .pointer(cuda(out).buffer.pointer), .int(out.cols), .int(outColumn), .int(accumulate ? 1 : 0)])
        }
    }

    public func ropeBackward(_ dx: Tensor, rows: Range<Int>, column: Int, heads: Int, headDim: Int, tables: RoPETables, tableRow: Int) {
        rotate(dx, rows: rows, column: column, heads: heads, headDim: headDim, tables: tables, tableRow: tableRow, inverse: true)
    }

    public func gatedActivationBackward(_ x: Tensor, rows: Range<Int>, width: Int, kind: MLPActivation, gradient dy: Tensor,
                                        out: Tensor) {
        run {
            try device.launch("gated_backward", grid: (rows.count, 1), [
                .pointer(cuda(x).buffer.pointer), .int(x.cols), .int(rows.lowerBound), .int(width), .int(kind == .geluTanh ? 1 : 0),
                .pointer(cuda(dy).buffer.pointer), .int(dy.cols), .pointer(cuda(out).buffer.pointer), .int(out.cols)])
        }
    }
}
