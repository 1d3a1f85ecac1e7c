import CCUDA
import Compute
import Foundation
import ModelFormats

/// The building blocks of a transformer block on the device (see `ComputeBackend`).
extension CUDABackend {
    public func embed(_ tokens: [Int], table: Weight, scale: Float?, into x: Tensor, row: Int) {
        let w = cuda(table)
        run {
            let ids = try device.ints(tokens, for: "token ids")
            try device.launch("embed", grid: (tokens.count, 1), [
                .pointer(ids.pointer), .pointer(w.buffer.pointer), .int(w.kernelDType), .int(x.cols), .float(scale ?? 1),
                .int(scale == nil ? 0 : 1), .pointer(cuda(x).buffer.pointer), .int(row)])
        }
    }

    public func rmsNorm(_ x: Tensor, rows: Range<Int>, column: Int, width: Int, groups: Int, weight: Weight,
                        offset: Float, eps: Float, out: Tensor, outColumn: Int) {
        run {
            try device.launch("rms_norm", grid: (rows.count, groups), [
                .pointer(cuda(x).buffer.pointer), .int(x.cols), .int(column), .int(rows.lowerBound), .int(width),
                .pointer(cuda(weight).buffer.pointer), .float(offset), .float(eps),
                .pointer(cuda(out).buffer.pointer), .int(out.cols), .int(outColumn)])
        }
    }

    public func linear(_ x: Tensor, rows: Range<Int>, xColumn: Int, weight: Weight, bias: Weight?, out: Tensor, column: Int) {
        guard !rows.isEmpty else { return }
        run {
            // Yᵀ (n × m, ld out.cols) = W (read transposed from its k × n column-major view) · Xᵀ (k × m, ld x.cols).
            try product(weight, transposed: true, m: weight.rows, n: rows.count, k: weight.cols,
                        input: cuda(x), row: rows.lowerBound, column: xColumn, out: cuda(out).at(rows.lowerBound, column),
                        ldc: out.cols, accumulate: false)
        }
        if let bias { addBias(bias, to: out, rows: rows, column: column) }
    }

    /// `C = op(W)·B (+C)` with B = `k` columns of `n` rows of `input` from (row, column): Float32 when the weight
    /// is, or in fidelity mode (a 16-bit weight widened first); otherwise B is rounded to the weight's
    /// 16-bit type and the product accumulates in Float32.
    func product(_ weight: Weight, transposed: Bool, m: Int, n: Int, k: Int, input: CUDATensor, row: Int, column: Int,
                 out: CUdeviceptr, ldc: Int, accumulate: Bool) throws {
        let w = cuda(weight), f32 = Int32(STEER_CUDA_R_32F)
        let lda = weight.cols  // the stored rows, as columns of the column-major view
        if w.dtype == .f32 {
            try matmul.run(transA: transposed, m: m, n: n, k: k, a: w.buffer.pointer, lda: lda, b: input.at(row, column),
                           ldb: input.cols, c: out, ldc: ldc, type: f32,
                           compute: Int32(fidelity ? STEER_CUBLAS_COMPUTE_32F : STEER_CUBLAS_COMPUTE_32F_FAST_TF32),
                           accumulate: accumulate)
            return
        }
        let bf16 = w.dtype == .bf16 ? 1 : 0
        if fidelity {
            let wide = try DeviceBuffer(device, bytes: weight.count * 4, for: "\(weight.name) widened to Float32")
            try device.launch("widen", grid: (CUDADevice.blocks(weight.count), 1), [
                .pointer(w.buffer.pointer), .pointer(wide.pointer), .long(weight.count), .int(bf16)])
            try matmul.run(transA: transposed, m: m, n: n, k: k, a: wide.pointer, lda: lda, b: input.at(row, column),
                           ldb: input.cols, c: out, ldc: ldc, type: f32, compute: Int32(STEER_CUBLAS_COMPUTE_32F), accumulate: accumulate)
            return
        }
        let half = try DeviceBuffer(device, bytes: n * k * 2, for: "16-bit activations of \(weight.name)")
        try device.launch("to_half", grid: (CUDADevice.blocks(n * k), 1), [
            .pointer(input.buffer.pointer), .int(input.cols), .int(column), .int(row), .int(n), .int(k), .pointer(half.pointer), .int(bf16)])
        try matmul.run(transA: transposed, m: m, n: n, k: k, a: w.buffer.pointer, lda: lda, b: half.pointer, ldb: k, c: out, ldc: ldc,
                       type: Int32(bf16 == 1 ? STEER_CUDA_R_16BF : STEER_CUDA_R_16F), compute: Int32(STEER_CUBLAS_COMPUTE_32F),
                       accumulate: accumulate)
    }

    public func addBias(_ bias: Weight, to x: Tensor, rows: Range<Int>, column: Int) {
        run {
            try device.launch("add_bias", grid: (rows.count, 1), [
                .pointer(cuda(bias).buffer.pointer), .int(bias.count), .pointer(cuda(x).buffer.pointer), .int(x.cols), .int(column),
                .int(rows.lowerBound)])
        }
    }

    public func ropeTables(_ rope: RoPE, positions: [Int], sequenceLength: Int) -> RoPETables {
        let (c, s) = rope.tables(positions: positions, sequenceLength: sequenceLength)
        let n = positions.count * (rope.rotaryDim / 2)
        let cos = buffer(n * 4, "RoPE cos table"), sin = buffer(n * 4, "RoPE sin table")
        run {
            try device.upload(UnsafeRawPointer(c.pointer), bytes: n * 4, to: cos.pointer)
            try device.upload(UnsafeRawPointer(s.pointer), bytes: n * 4, to: sin.pointer)
            try device.synchronize()  // the host tables go when this returns
        }
        return CUDARoPETables(count: positions.count, rotaryDim: rope.rotaryDim, cos: cos, sin: sin)
    }

    public func rope(_ x: Tensor, rows: Range<Int>, column: Int, heads: Int, headDim: Int, tables: RoPETables, tableRow: Int) {
        rotate(x, rows: rows, column: column, heads: heads, headDim: headDim, tables: tables, tableRow: tableRow, inverse: false)
    }

    func rotate(_ x: Tensor, rows: Range<Int>, column: Int, heads: Int, headDim: Int, tables: RoPETables, tableRow: Int,
                inverse: Bool) {
        let t = cuda(tables), half = t.rotaryDim / 2
        guard half > 0 else { return }
        run {
            try device.launch("rope", grid: (rows.count, 1), [
                .pointer(cuda(x).buffer.pointer), .int(x.cols), .int(column), .int(rows.lowerBound), .int(heads), .int(headDim),
                .int(half), .pointer(t.cos.pointer), .pointer(t.sin.pointer), .int(tableRow), .int(inverse ? 1 : 0)])
        }
    }

    public func storeKeysValues(_ x: Tensor, rows: Range<Int>, keyColumn: Int, valueColumn: Int, slots: [Int],
                                in kv: KVStore, layer: Int) {
        let store = cuda(kv)
        run {
            let s = try device.ints(slots, for: "key/value slots")
            try device.launch("store_kv", grid: (slots.count, 1), [
                .pointer(cuda(x).buffer.pointer), .int(x.cols), .int(rows.lowerBound), .int(keyColumn), .int(valueColumn),
                .pointer(s.pointer), .int(kv.kvDim), .pointer(store.keys(layer)), .pointer(store.values(layer))])
        }
    }

    public func gatedActivation(_ x: Tensor, rows: Range<Int>, width: Int, kind: MLPActivation, out: Tensor) {
        run {
            try device.launch("gated", grid: (rows.count, 1), [
                .pointer(cuda(x).buffer.pointer), .int(x.cols), .int(rows.lowerBound), .int(width), .int(kind == .geluTanh ? 1 : 0),
                .pointer(cuda(out).buffer.pointer), .int(out.cols)])
        }
    }

    public func add(_ x: Tensor, into y: Tensor, rows: Range<Int>) {
        elementwise(0, x: x, y: y, rows: rows, value: 0)
    }

    public func softcap(_ x: Tensor, rows: Range<Int>, cap: Float) {
        elementwise(1, x: x, y: x, rows: rows, value: cap)
    }

    public func scale(_ x: Tensor, rows: Range<Int>, by factor: Float) {
        elementwise(2, x: x, y: x, rows: rows, value: factor)
    }

    /// The `elementwise` kernel over whole rows (op 0 add, 1 softcap, 2 scale).
    private func elementwise(_ op: Int, x: Tensor, y: Tensor, rows: Range<Int>, value: Float) {
        let n = rows.count * y.cols
        guard n > 0 else { return }
        run {
            try device.launch("elementwise", grid: (CUDADevice.blocks(n), 1), [
                .pointer(cuda(x).buffer.pointer), .pointer(cuda(y).buffer.pointer), .long(rows.lowerBound * y.cols), .long(n),
                .int(op), .float(value)])
        }
    }

    public func gather(_ src: Tensor, rows: [Int], into dst: Tensor, row: Int) {
        run {
            let list = try device.ints(rows, for: "gathered rows")
            try device.launch("gather", grid: (rows.count, 1), [
                .pointer(cuda(src).buffer.pointer), .int(src.cols), .pointer(list.pointer), .pointer(cuda(dst).buffer.pointer),
                .int(dst.cols), .int(row)])
        }
    }

    public func copyRows(_ src: Tensor, from: Int, count: Int, into dst: Tensor, to: Int) {
        run { try device.copy(cuda(src).at(from), to: cuda(dst).at(to), bytes: count * src.cols * 4) }
    }
}
