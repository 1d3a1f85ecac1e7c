import Foundation
import ModelFormats

/// The operations a transformer forward pass needs, over tensors that live in the backend's memory.
///
/// Models and experiments describe *what* to compute (which rows, which weights, which layout); a
/// backend decides *how*: the CPU backend runs BLAS and its own kernels on host memory, a GPU
/// backend would launch kernels on device memory. Handles (`Tensor`, `Weight`, `KVStore`,
/// `Accumulator`, `RoPETables`) are created by a backend and only that backend reads them; nothing
/// outside a backend touches their memory except through `upload`/`read`.
///
/// Every operation works on a set of rows of row-major Float32 matrices. Column arguments address a
/// slice of a wider tensor (e.g. the key part of a fused `[q | k | v]` row) so that no copy is needed.
/// Operations are synchronous from the caller's point of view: `read` returns finished values.
public protocol ComputeBackend: AnyObject {
    /// A short name for messages and benchmarks (`cpu`, `cuda`).
    var name: String { get }
    /// Worker threads (CPU) or streams the backend may use for one call.
    var threads: Int { get set }

    // MARK: Memory

    /// A `rows × cols` Float32 tensor with unspecified contents.
    func tensor(rows: Int, cols: Int) -> Tensor
    /// A tensor holding `values` (`rows × cols`, row-major).
    func upload(_ values: UnsafeBufferPointer<Float>, rows: Int, cols: Int) -> Tensor
    /// Copies `rows` of `t` (all columns) into `out`.
    func read(_ t: Tensor, rows: Range<Int>, into out: UnsafeMutablePointer<Float>)
    /// Overwrites `rows` of `t` from `values` (`rows.count × t.cols`).
    func write(_ values: UnsafePointer<Float>, rows: Range<Int>, of t: Tensor)
    /// A weight in its stored dtype (F32, BF16 or F16 matrices; vectors are `1 × n`), uploaded once.
    /// `keepHalf: false` converts 16-bit matrices to Float32 (faster on CPU BLAS, twice the memory).
    func weight(_ data: WeightData, keepHalf: Bool) throws -> Weight
    /// Weights stacked by rows into one (e.g. q, k and v into a fused projection), when the backend
    /// can do so without keeping two copies; nil otherwise (callers then keep the parts).
    func joined(_ parts: [Weight]) -> Weight?
    /// Key/value storage of `layers` layers, `slots` slots of `kvDim` floats each for keys and for values.
    func kvStore(layers: Int, slots: Int, kvDim: Int) -> KVStore
    /// Copies `slots` of every layer of `from` into `to`, starting at slot `at` (for growing a store).
    func copySlots(from: KVStore, slots: Range<Int>, to: KVStore, at: Int)
    /// Float64 sums of `rows × cols`, zeroed.
    func accumulator(rows: Int, cols: Int) -> Accumulator
    /// The sums of an accumulator (`rows × cols`, row-major).
    func read(_ acc: Accumulator) -> [Double]

    // MARK: Building blocks of a block

    /// Rows `table[tokens[i]] · scale` into rows `row + i` of `x`.
    func embed(_ tokens: [Int], table: Weight, scale: Float?, into x: Tensor, row: Int)
    /// RMSNorm over groups of `width` columns starting at `column`: `groups` consecutive groups per row
    /// (1 for a whole hidden state, `heads` for per-head q/k norms), each scaled by `offset + weight`.
    /// `out` may be `x` (then the same columns are written).
    func rmsNorm(_ x: Tensor, rows: Range<Int>, column: Int, width: Int, groups: Int, weight: Weight,
                 offset: Float, eps: Float, out: Tensor, outColumn: Int)
    /// `out[rows, column ..< column + weight.rows] = x[rows, xColumn ..< xColumn + weight.cols] · Wᵀ (+ bias)`.
    func linear(_ x: Tensor, rows: Range<Int>, xColumn: Int, weight: Weight, bias: Weight?, out: Tensor, column: Int)
    /// `linear` of each part in turn, written side by side from `column` on (as if the parts were one
    /// weight stacked by rows); a backend may run them as one operation.
    func linear(_ x: Tensor, rows: Range<Int>, xColumn: Int, parts: [Weight], out: Tensor, column: Int)
    /// `x[rows, column ..< column + bias.count] += bias`.
    func addBias(_ bias: Weight, to x: Tensor, rows: Range<Int>, column: Int)
    /// cos/sin tables of `rope` for the given positions (one row per position in the list).
    func ropeTables(_ rope: RoPE, positions: [Int], sequenceLength: Int) -> RoPETables
    /// Rotates `heads` heads of width `headDim` starting at `column` of each row in `rows`, row `r`
    /// using table row `r - rows.lowerBound + tableRow`.
    func rope(_ x: Tensor, rows: Range<Int>, column: Int, heads: Int, headDim: Int, tables: RoPETables, tableRow: Int)
    /// Writes keys (`x[r, keyColumn ..< keyColumn + kvDim]`) and values of `rows` into `slots[i]` of `layer`.
    func storeKeysValues(_ x: Tensor, rows: Range<Int>, keyColumn: Int, valueColumn: Int, slots: [Int],
                         in kv: KVStore, layer: Int)
    /// Attention of the query rows `queries` of `q` (heads at `column`) over their visible keys in `kv`
    /// (see `SequenceLayout`): output row `i` of `out` is query `queries[i]`.
    func attention(_ q: Tensor, column: Int, queries: [Int], layout: SequenceLayout, kv: KVStore, layer: Int,
                   spec: AttentionSpec, out: Tensor)
    /// `out[r, 0..<width] = act(x[r, 0..<width]) · x[r, width..<2·width]` (a fused `[gate | up]` row).
    func gatedActivation(_ x: Tensor, rows: Range<Int>, width: Int, kind: MLPActivation, out: Tensor)
    /// A routed mixture of experts: each row of `x` (columns `0..<d`) is routed by `weights.router` as
    /// `spec.routing` says, and `out[r, 0..<d]` becomes the sum of its `spec.active` experts' outputs, each
    /// times its routing weight, summed in increasing expert index (as transformers adds them). Only the
    /// chosen experts run, on the rows routed to them; the work is split the same way on any thread count.
    func experts(_ x: Tensor, rows: Range<Int>, weights: ExpertWeights, spec: ExpertsSpec, out: Tensor)
    /// `y[rows] += x[rows]` (all columns of equal-width tensors).
    func add(_ x: Tensor, into y: Tensor, rows: Range<Int>)
    /// `x ← cap · tanh(x / cap)` on `rows`.
    func softcap(_ x: Tensor, rows: Range<Int>, cap: Float)
    /// `x ← x · factor` on `rows`.
    func scale(_ x: Tensor, rows: Range<Int>, by factor: Float)
    /// Copies rows `rows[i]` of `src` to row `row + i` of `dst`.
    func gather(_ src: Tensor, rows: [Int], into dst: Tensor, row: Int)
    /// Copies `count` rows starting at `from` of `src` to `to` of `dst`.
    func copyRows(_ src: Tensor, from: Int, count: Int, into dst: Tensor, to: Int)

    // MARK: Interventions

    /// `x ← x − s·(x·u) u` on the given rows (`unit` is `1 × cols`, of unit length).
    func projectOut(_ x: Tensor, rows: RowSet, unit: Tensor, strength: Float)
    /// `x ← x + scale·v` on the given rows (`vector` is `1 × cols`).
    func addVector(_ vector: Tensor, scale: Float, to x: Tensor, rows: RowSet)
    /// `x ← x − leftᵀ · (right · (x − bias))` on the given rows: an affine edit of rank k such as a LEACE
    /// eraser (`right` and `left` are `k × cols`, row j of `left` being column j of concept-erasure's
    /// `proj_left`; `bias` is `1 × cols`).
    func erase(_ x: Tensor, rows: RowSet, left: Tensor, right: Tensor, bias: Tensor)
    /// `acc[targets[i]] += x[rows[i]]` in Float64.
    func accumulate(_ x: Tensor, rows: [Int], into acc: Accumulator, targets: [Int])

    // MARK: Backward (reverse mode; gradients with respect to activations only)
    //
    // The input gradients of the block operations above, for `BackwardPass`: weights are constants, so
    // nothing here computes a weight gradient. `accumulate: true` adds into `out` instead of overwriting.

    /// `x[rows] ← 0` (all columns).
    func zero(_ x: Tensor, rows: Range<Int>)
    /// `out[rows, column ..< column + weight.cols] (+)= dy[rows, dyColumn ..< dyColumn + weight.rows] · W`:
    /// the input gradient of `linear` (W as stored, not transposed; a bias has no input gradient).
    func linearInputGradient(_ dy: Tensor, rows: Range<Int>, dyColumn: Int, weight: Weight, out: Tensor, column: Int,
                             accumulate: Bool)
    /// The input gradient of `rmsNorm` over the same groups: from the norm's input `x` and its output's
    /// gradient `dy`, per group `dx = s·(w'∘dy) − (s³/width)·Σ(x∘w'∘dy)·x`, `s = 1/√(mean(x²) + eps)`,
    /// `w' = offset + w`. `out` may be `dy` (same columns).
    func rmsNormBackward(_ x: Tensor, rows: Range<Int>, column: Int, width: Int, groups: Int, weight: Weight,
                         offset: Float, eps: Float, gradient dy: Tensor, dyColumn: Int, out: Tensor, outColumn: Int,
                         accumulate: Bool)
    /// The input gradient of `rope`, in place: each pair rotated by −θ (the transpose of the rotation).
    func ropeBackward(_ dx: Tensor, rows: Range<Int>, column: Int, heads: Int, headDim: Int, tables: RoPETables, tableRow: Int)
    /// The input gradient of `gatedActivation`: from the `[gate | up]` rows `x` and the gradient `dy` of
    /// `act(gate)·up` (`width` columns), `out[r] = [dy·up·act'(gate) | dy·act(gate)]` (`2·width` columns).
    func gatedActivationBackward(_ x: Tensor, rows: Range<Int>, width: Int, kind: MLPActivation, gradient dy: Tensor,
                                 out: Tensor)
    /// The input gradients of `attention` with the same arguments: `dOut` row `i` is the gradient of output
    /// row `i` (query `queries[i]`). Writes the query gradient to row `queries[i]` of `dq` (heads from
    /// `dqColumn`) and adds the key and value gradients of every visible slot `s` into row `s` of `dkv` (at
    /// `keyColumn` and `valueColumn`, summed over queries and over the query heads sharing a KV head).
    /// Soft-capping is differentiated (`1 − tanh²`); masked keys get no gradient.
    func attentionBackward(_ q: Tensor, column: Int, queries: [Int], layout: SequenceLayout, kv: KVStore, layer: Int,
                           spec: AttentionSpec, outputGradient dOut: Tensor, queryGradient dq: Tensor, dqColumn: Int,
                           keyValueGradient dkv: Tensor, keyColumn: Int, valueColumn: Int)

    // MARK: Work

    /// Runs `count` independent jobs (e.g. forward passes of different prompt groups) as the backend
    /// sees fit: the CPU backend runs them on all threads at once, each single-threaded. After the first
    /// error no further job starts and that error is rethrown.
    func jobs(_ count: Int, _ job: (Int) throws -> Void) throws
}

extension ComputeBackend {
    public func linear(_ x: Tensor, rows: Range<Int>, xColumn: Int, parts: [Weight], out: Tensor, column: Int) {
        var c = column
        for p in parts {
            linear(x, rows: rows, xColumn: xColumn, weight: p, bias: nil, out: out, column: c)
            c += p.rows
        }
    }

    /// A tensor holding `values` as one row (or `rows` rows).
    public func upload(_ values: [Float], rows: Int = 1) -> Tensor {
        values.withUnsafeBufferPointer { upload($0, rows: rows, cols: values.count / max(1, rows)) }
    }

    /// All of `t` as an array.
    public func read(_ t: Tensor) -> [Float] { read(t, rows: 0..<t.rows) }

    /// `rows` of `t` as an array.
    public func read(_ t: Tensor, rows: Range<Int>) -> [Float] {
        [Float](unsafeUninitializedCapacity: rows.count * t.cols) { buf, n in
            if let base = buf.baseAddress, !rows.isEmpty { read(t, rows: rows, into: base) }
            n = rows.count * t.cols
        }
    }
}

/// Rows an operation touches.
public enum RowSet: Sendable, Equatable {
    case range(Range<Int>)
    case list([Int])

    public var count: Int {
        switch self { case .range(let r): return r.count; case .list(let l): return l.count }
    }
}

/// The gated activations of MLPs.
public enum MLPActivation: Sendable, Equatable {
    /// `silu(gate) · up`.
    case silu
    /// `gelu_tanh(gate) · up`.
    case geluTanh
    /// gpt-oss's clamped SwiGLU: `g = min(gate, limit)`, `u = clamp(up, −limit, limit)`,
    /// `(u + 1) · g · σ(alpha · g)`.
    case clampedSwiGLU(alpha: Float, limit: Float)
}

/// What one attention call needs besides the layout.
public struct AttentionSpec: Sendable {
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    /// Multiplier of `q·k`.
    public var scale: Float
    /// Gemma-2 style `cap·tanh(s/cap)` on the scores.
    public var softcap: Float?
    /// A key at position `j` is visible from position `i` only when `i − j < window`.
    public var window: Int?
    /// gpt-oss's attention sinks: one logit per query head that joins the softmax's normaliser but
    /// has no value (`p_j = e^{s_j} / (Σ_i e^{s_i} + e^{sink})`).
    public var sinks: [Float]?

    public init(heads: Int, kvHeads: Int, headDim: Int, scale: Float, softcap: Float? = nil, window: Int? = nil,
                sinks: [Float]? = nil) {
        self.heads = heads; self.kvHeads = kvHeads; self.headDim = headDim; self.scale = scale
        self.softcap = softcap; self.window = window; self.sinks = sinks
    }
}

/// A weight as stored in a file: dtype, shape (`[rows, cols]` or `[n]`) and bytes, often inside a
/// memory-mapped file that `owner` keeps alive.
public struct WeightData {
    public var name: String
    public var dtype: DType
    public var rows: Int
    public var cols: Int
    public var bytes: UnsafeRawBufferPointer
    public var owner: AnyObject

    public init(name: String, dtype: DType, rows: Int, cols: Int, bytes: UnsafeRawBufferPointer, owner: AnyObject) {
        self.name = name; self.dtype = dtype; self.rows = rows; self.cols = cols; self.bytes = bytes; self.owner = owner
    }
}

/// Errors of a compute backend.
public enum ComputeError: Error, CustomStringConvertible, Equatable {
    case badWeight(name: String, reason: String)
    case unavailable(backend: String, reason: String)
    /// A numerical routine failed (e.g. an eigensolver did not converge), naming what it was given.
    case numerical(String)

    public var description: String {
        switch self {
        case let .badWeight(n, r): return "weight \(n): \(r)"
        case let .unavailable(b, r): return "backend \(b) is not available: \(r)"
        case .numerical(let m): return m
        }
    }
}
