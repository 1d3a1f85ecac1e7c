import Foundation
import ModelFormats

/// The CPU backend: host memory, OpenBLAS (Accelerate on macOS) for the matrix products, its own
/// kernels (C with run-time AVX2/AVX-512 dispatch, SIMD Swift) for the rest. Its thread policy lives
/// here and in `Parallel` and nowhere else: `threads` sizes the one pool that runs both the kernels
/// and the blocks of every matrix product (BLAS itself stays single-threaded), and `jobs` runs
/// independent passes on all threads at once, each single-threaded. Results do not depend on `threads`.
public final class CPUBackend: ComputeBackend, @unchecked Sendable {
    /// The process-wide CPU backend.
    public static let shared = CPUBackend()

    public let name = "cpu"

    public init() { _ = BLAS.pinToOneThread }

    public var threads: Int {
        get { Parallel.threads }
        set { Parallel.threads = max(1, newValue) }
    }

    /// This machine's matrix-product rate in GFLOP/s on square Float32 matrices of `size`, as the
    /// backend computes them (blocked `sgemm` on the pool; for benchmarks).
    public func measureGFLOPS(size: Int = 1024) -> Double { MachineRates.sgemmGFLOPS(size: size) }

    /// This machine's memory read bandwidth in GB/s on the pool (for benchmarks: a decode step reads
    /// every weight once, so this bounds its speed).
    public func measureBandwidth(bytes: Int = 1 << 30) -> Double { MachineRates.readBandwidth(bytes: bytes) }

    /// GB/s of a plain streaming read of these weights' own memory (mapped file pages or owned
    /// buffers, wherever they sit), in the same blocks and pool: the ceiling of a decode step that
    /// reads them. Nil when a weight is not this backend's.
    public func measureBandwidth(of weights: [Weight]) -> Double? {
        var regions: [(UnsafeRawPointer, Int)] = []
        for w in weights {
            guard let m = (w as? CPUWeight)?.matrix else { return nil }
            switch m.storage {
            case .f32(let p): regions.append((UnsafeRawPointer(p), m.rows * m.cols * 4))
            case .bf16(let p), .f16(let p): regions.append((UnsafeRawPointer(p), m.rows * m.cols * 2))
            case .panels(let p): regions.append((UnsafeRawPointer(p), (m.rows + Matrix.panel - 1) / Matrix.panel * Matrix.panel * m.cols * 4))
            }
        }
        return MachineRates.readBandwidth(regions: regions)
    }

    /// GFLOP/s of register-only fused multiply-adds on every thread of the pool: the arithmetic peak
    /// of the kernels' instruction set, which no matrix product can pass.
    public func measureFMAPeak() -> Double { MachineRates.fmaPeakGFLOPS() }

    /// The kernels in use: the instruction set of Steer's own (`avx512`, `avx2`, `baseline`), the kernel
    /// set of the system BLAS (`SkylakeX`, `Haswell`, … for OpenBLAS), and whether that BLAS runs any
    /// matrix products (only for row-major weights without AVX2, or with `STEER_GEMM=blas`).
    public var kernels: (own: String, blas: String, blasRunsProducts: Bool) {
        (KernelLevel.current.name, BLAS.coreName ?? "Accelerate", !Matrix.ownProducts)
    }

    // MARK: Memory

    public func tensor(rows: Int, cols: Int) -> Tensor { CPUTensor(rows: rows, cols: cols) }

    public func upload(_ values: UnsafeBufferPointer<Float>, rows: Int, cols: Int) -> Tensor {
        let t = CPUTensor(rows: rows, cols: cols)
        if let base = values.baseAddress { t.pointer.update(from: base, count: min(values.count, rows * cols)) }
        return t
    }

    public func read(_ t: Tensor, rows: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        out.update(from: cpu(t).pointer + rows.lowerBound * t.cols, count: rows.count * t.cols)
    }

    public func write(_ values: UnsafePointer<Float>, rows: Range<Int>, of t: Tensor) {
        (cpu(t).pointer + rows.lowerBound * t.cols).update(from: values, count: rows.count * t.cols)
    }

    public func weight(_ data: WeightData, keepHalf: Bool) throws -> Weight {
        guard data.bytes.count >= data.rows * data.cols * data.dtype.byteSize, let base = data.bytes.baseAddress else {
            throw ComputeError.badWeight(name: data.name, reason: "\(data.bytes.count) bytes for \(data.rows) × \(data.cols) \(data.dtype)")
        }
        let matrix: Matrix
        switch data.dtype {
        case .f32:
            if Int(bitPattern: base) % MemoryLayout<Float>.alignment == 0 {
                matrix = Matrix(rows: data.rows, cols: data.cols, storage: .f32(base.assumingMemoryBound(to: Float.self)), owner: data.owner)
            } else {
                matrix = Self.converted(data)
            }
        case .bf16, .f16:
            // Vectors (norms, biases) and converted matrices are owned Float32; kept 16-bit matrices stay mapped.
            if keepHalf && data.rows > 1 && Int(bitPattern: base) % 2 == 0 {
                let p = base.assumingMemoryBound(to: UInt16.self)
                matrix = Matrix(rows: data.rows, cols: data.cols, storage: data.dtype == .bf16 ? .bf16(p) : .f16(p), owner: data.owner)
            } else if keepHalf && data.rows > 1 {
                let copy = HalfCopy(data.bytes, count: data.rows * data.cols)
                matrix = Matrix(rows: data.rows, cols: data.cols,
                                storage: data.dtype == .bf16 ? .bf16(UnsafePointer(copy.pointer)) : .f16(UnsafePointer(copy.pointer)), owner: copy)
            } else {
                matrix = Self.converted(data)
            }
        default:
            throw ComputeError.badWeight(name: data.name, reason: "dtype \(data.dtype) is not F32, F16 or BF16")
        }
        return CPUWeight(name: data.name, matrix: matrix)
    }

    /// An owned Float32 copy: matrices as panels where the own kernels run them (straight from the
    /// file's bytes when they are aligned for their dtype), vectors and other matrices row-major.
    static func converted(_ data: WeightData) -> Matrix {
        guard data.rows > 1, Matrix.panelsSupported, let base = data.bytes.baseAddress else {
            return Matrix(rows: data.rows, cols: data.cols, buffer: floats(data))
        }
        if Int(bitPattern: base) % data.dtype.byteSize == 0 {
            return Matrix.panels(rows: data.rows, cols: data.cols, dtype: data.dtype, source: base)
        }
        let aligned = floats(data)
        return Matrix.panels(rows: data.rows, cols: data.cols, dtype: .f32, source: UnsafeRawPointer(aligned.pointer))
    }

    static func floats(_ data: WeightData) -> FloatBuffer {
        let n = data.rows * data.cols
        let out = FloatBuffer(uninitializedCount: n)
        if let base = data.bytes.baseAddress { DTypeConversion.toFloats(base, dtype: data.dtype, count: n, into: out.pointer) }
        return out
    }

    public func joined(_ parts: [Weight]) -> Weight? {
        guard let m = Matrix.joined(parts.map { cpu($0).matrix }) else { return nil }
        return CPUWeight(name: parts.map(\.name).joined(separator: "+"), matrix: m)
    }

    public func kvStore(layers: Int, slots: Int, kvDim: Int) -> KVStore {
        CPUKVStore(layers: layers, slots: slots, kvDim: kvDim)
    }

    public func copySlots(from: KVStore, slots: Range<Int>, to: KVStore, at: Int) {
        let a = cpu(from), b = cpu(to), d = a.kvDim
        for l in 0..<min(a.layers, b.layers) {
            (b.keys[l].pointer + at * d).update(from: a.keys[l].pointer + slots.lowerBound * d, count: slots.count * d)
            (b.values[l].pointer + at * d).update(from: a.values[l].pointer + slots.lowerBound * d, count: slots.count * d)
        }
    }

    public func accumulator(rows: Int, cols: Int) -> Accumulator { CPUAccumulator(rows: rows, cols: cols) }

    public func read(_ acc: Accumulator) -> [Double] { cpu(acc).sums }

    // MARK: Blocks

    public func embed(_ tokens: [Int], table: Weight, scale: Float?, into x: Tensor, row: Int) {
        let m = cpu(table).matrix, d = x.cols, base = cpu(x).pointer + row * d
        for (i, t) in tokens.enumerated() { m.row(t, into: base + i * d) }
        if let s = scale { for i in 0..<(tokens.count * d) { base[i] *= s } }
    }

    public func rmsNorm(_ x: Tensor, rows: Range<Int>, column: Int, width: Int, groups: Int, weight: Weight,
                        offset: Float, eps: Float, out: Tensor, outColumn: Int) {
        let xp = cpu(x).pointer, op = cpu(out).pointer, w = cpu(weight).vector
        let xs = x.cols, os = out.cols
        if column == 0 && outColumn == 0 && groups == 1 && width == xs && width == os {
            Kernels.rmsNorm(xp + rows.lowerBound * xs, weight: w, weightOffset: offset, eps: eps, rows: rows.count, d: width,
                            out: op + rows.lowerBound * os)
            return
        }
        Parallel.forEach(rows.count, cost: 3 * width * groups) { i in
            let r = rows.lowerBound + i
            for g in 0..<groups {
                Kernels.rmsNorm(xp + r * xs + column + g * width, weight: w, weightOffset: offset, eps: eps, rows: 1, d: width,
                                out: op + r * os + outColumn + g * width)
            }
        }
    }

    public func linear(_ x: Tensor, rows: Range<Int>, xColumn: Int, weight: Weight, bias: Weight?, out: Tensor, column: Int) {
        guard !rows.isEmpty else { return }
        let w = cpu(weight).matrix
        let y = cpu(out).pointer + rows.lowerBound * out.cols + column
        w.apply(cpu(x).pointer + rows.lowerBound * x.cols + xColumn, m: rows.count, lda: x.cols, into: y, ldy: out.cols)
        if let bias {
            let b = cpu(bias).vector
            for i in 0..<rows.count { Kernels.add(b, into: y + i * out.cols, w.rows) }
        }
    }

    /// Parts of one projection (q, k, v; gate, up) in one parallel loop when the matrix-vector kernel
    /// runs them: small parts (k and v) then fill the threads the large ones leave idle, and one
    /// hand-off replaces one per part. Each element is computed exactly as `linear` computes it.
    public func linear(_ x: Tensor, rows: Range<Int>, xColumn: Int, parts: [Weight], out: Tensor, column: Int) {
        guard !rows.isEmpty else { return }
        let y = cpu(out).pointer + rows.lowerBound * out.cols + column
        Matrix.apply(parts.map { cpu($0).matrix }, cpu(x).pointer + rows.lowerBound * x.cols + xColumn, m: rows.count,
                     lda: x.cols, into: y, ldy: out.cols)
    }

    public func addBias(_ bias: Weight, to x: Tensor, rows: Range<Int>, column: Int) {
        let b = cpu(bias).vector, p = cpu(x).pointer + column, n = bias.count
        for r in rows { Kernels.add(b, into: p + r * x.cols, n) }
    }

    public func ropeTables(_ rope: RoPE, positions: [Int], sequenceLength: Int) -> RoPETables {
        let (c, s) = rope.tables(positions: positions, sequenceLength: sequenceLength)
        return CPURoPETables(count: positions.count, rotaryDim: rope.rotaryDim, cos: c, sin: s)
    }

    public func rope(_ x: Tensor, rows: Range<Int>, column: Int, heads: Int, headDim: Int, tables: RoPETables, tableRow: Int) {
        let t = tables as! CPURoPETables, half = t.rotaryDim / 2
        guard half > 0 else { return }
        let xp = cpu(x).pointer, xs = x.cols
        Parallel.forEach(rows.count, cost: heads * headDim * 2) { i in
            let row = tableRow + i
            RoPE.rotate(xp + (rows.lowerBound + i) * xs + column, heads: heads, headDim: headDim, half: half,
                        cos: t.cos.pointer + row * half, sin: t.sin.pointer + row * half)
        }
    }

    public func storeKeysValues(_ x: Tensor, rows: Range<Int>, keyColumn: Int, valueColumn: Int, slots: [Int],
                                in kv: KVStore, layer: Int) {
        let store = cpu(kv), xp = cpu(x).pointer, xs = x.cols, d = kv.kvDim
        let k = store.keys[layer].pointer, v = store.values[layer].pointer
        for (i, slot) in slots.enumerated() {
            let row = xp + (rows.lowerBound + i) * xs
            (k + slot * d).update(from: row + keyColumn, count: d)
            (v + slot * d).update(from: row + valueColumn, count: d)
        }
    }

    public func attention(_ q: Tensor, column: Int, queries: [Int], layout: SequenceLayout, kv: KVStore, layer: Int,
                          spec: AttentionSpec, out: Tensor) {
        let store = cpu(kv)
        CPUAttention.run(q: cpu(q).pointer + column, qStride: q.cols, queries: queries, layout: layout,
                         keys: store.keys[layer].pointer, values: store.values[layer].pointer, kvDim: kv.kvDim, spec: spec,
                         out: cpu(out).pointer, outStride: out.cols)
    }

    public func gatedActivation(_ x: Tensor, rows: Range<Int>, width: Int, kind: MLPActivation, out: Tensor) {
        let xp = cpu(x).pointer, op = cpu(out).pointer, xs = x.cols, os = out.cols
        Parallel.forEach(rows.count, cost: width * 8) { i in
            let r = rows.lowerBound + i
            Kernels.gatedActivation(kind, gate: xp + r * xs, up: xp + r * xs + width, out: op + r * os, n: width)
        }
    }

    public func add(_ x: Tensor, into y: Tensor, rows: Range<Int>) {
        let d = x.cols
        Kernels.add(cpu(x).pointer + rows.lowerBound * d, into: cpu(y).pointer + rows.lowerBound * d, rows.count * d)
    }

    public func softcap(_ x: Tensor, rows: Range<Int>, cap: Float) {
        Kernels.softcap(cpu(x).pointer + rows.lowerBound * x.cols, rows.count * x.cols, cap: cap)
    }

    public func scale(_ x: Tensor, rows: Range<Int>, by factor: Float) {
        let p = cpu(x).pointer + rows.lowerBound * x.cols
        for i in 0..<(rows.count * x.cols) { p[i] *= factor }
    }

    public func gather(_ src: Tensor, rows: [Int], into dst: Tensor, row: Int) {
        let s = cpu(src).pointer, d = cpu(dst).pointer, w = src.cols
        for (i, r) in rows.enumerated() { (d + (row + i) * dst.cols).update(from: s + r * w, count: w) }
    }

    public func copyRows(_ src: Tensor, from: Int, count: Int, into dst: Tensor, to: Int) {
        (cpu(dst).pointer + to * dst.cols).update(from: cpu(src).pointer + from * src.cols, count: count * src.cols)
    }

    // MARK: Interventions

    public func projectOut(_ x: Tensor, rows: RowSet, unit: Tensor, strength: Float) {
        let p = cpu(x).pointer, u = cpu(unit).pointer, d = x.cols
        switch rows {
        case .range(let r): Kernels.projectOut(p + r.lowerBound * d, rows: r.count, width: d, unit: u, strength: strength)
        case .list(let l): for r in l { Kernels.projectOut(p + r * d, rows: 1, width: d, unit: u, strength: strength) }
        }
    }

    public func addVector(_ vector: Tensor, scale: Float, to x: Tensor, rows: RowSet) {
        let p = cpu(x).pointer, v = cpu(vector).pointer, d = x.cols
        func addRow(_ r: Int) {
            let row = p + r * d
            if scale == 1 { Kernels.add(v, into: row, d) } else { Kernels.axpy(scale, v, row, d) }
        }
        switch rows {
        case .range(let r): for i in r { addRow(i) }
        case .list(let l): for i in l { addRow(i) }
        }
    }

    public func accumulate(_ x: Tensor, rows: [Int], into acc: Accumulator, targets: [Int]) {
        let p = cpu(x).pointer, s = cpu(acc), d = x.cols
        s.storage.withUnsafeMutableBufferPointer { sums in
            for (r, t) in zip(rows, targets) {
                let row = p + r * d, base = t * acc.cols
                for i in 0..<d { sums[base + i] += Double(row[i]) }
            }
        }
    }

    // MARK: Work

    public func jobs(_ count: Int, _ job: (Int) throws -> Void) throws {
        try Parallel.jobs(count, job)
    }

    // Handles made by this backend (a handle from another backend is a programming error).
    @inline(__always) func cpu(_ t: Tensor) -> CPUTensor { unsafeDowncast(t, to: CPUTensor.self) }
    @inline(__always) func cpu(_ w: Weight) -> CPUWeight { unsafeDowncast(w, to: CPUWeight.self) }
    @inline(__always) func cpu(_ s: KVStore) -> CPUKVStore { unsafeDowncast(s, to: CPUKVStore.self) }
    @inline(__always) func cpu(_ a: Accumulator) -> CPUAccumulator { unsafeDowncast(a, to: CPUAccumulator.self) }
}
