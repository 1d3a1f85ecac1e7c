import Foundation
import Compute

/// What an intervention does at a hook point: data the backend executes during the forward pass.
public enum EditOp {
    /// `x ← x − s·(x·u) u` (`unit` of unit length, `strength` s = 1 removes the component).
    case projectOut(unit: [Float], strength: Float)
    /// `x ← x + scale·v`.
    case add(vector: [Float], scale: Float)
    /// `x ← x − Σⱼ (rightⱼ·(x − bias)) leftⱼ`: an affine edit of rank k (a LEACE eraser, `x − L·R·(x − b)`).
    /// `left` and `right` hold k rows of d each (`left` row j = column j of `proj_left [d, k]`).
    case erase(left: [Float], right: [Float], bias: [Float])
    /// Reads rows out (reduced into Float64 sums, or copied) without changing them.
    case capture(Capture)
    /// The escape hatch: rows are read back to the host, the function may change them, and they are
    /// written back. Slow by design; see `Hooks`.
    case callback((Activation) -> Void)

    var observes: Bool {
        switch self { case .capture, .callback: return true; case .projectOut, .add, .erase: return false }
    }
}

/// Which rows of a pass an edit touches.
public enum EditRows: Sendable, Equatable {
    /// Every row the block computes.
    case all
    /// The rows of these groups of the `ForwardInput` (packed passes score one intervention per group).
    case groups([Int])
}

/// One intervention at one hook point of some layers.
public struct ActivationEdit {
    public var point: HookPoint
    /// Layers it acts on (nil = every layer).
    public var layers: [Int]?
    public var rows: EditRows
    public var op: EditOp

    public init(point: HookPoint, layers: [Int]? = nil, rows: EditRows = .all, op: EditOp) {
        self.point = point; self.layers = layers; self.rows = rows; self.op = op
    }

    /// The same edit restricted to `groups`.
    public func scoped(to groups: [Int]) -> ActivationEdit {
        var e = self
        e.rows = .groups(groups)
        return e
    }
}

/// A capture: rows of a pass read at a hook point, reduced into an accumulator or copied into tensors.
public final class Capture {
    public enum Mode {
        /// `accumulator[targets[i] + layer·layerStride] += x[rows[i]]` in Float64.
        case sum(Accumulator, targets: [Int], layerStride: Int)
        /// Rows copied into `tensors[layer]` (row `i` of the tensor = pass row `rows[i]`).
        case copy([Int: Tensor])
    }

    /// Pass rows read (indices into the forward input's rows).
    public let rows: [Int]
    public let mode: Mode

    public init(rows: [Int], mode: Mode) {
        self.rows = rows; self.mode = mode
    }
}

/// Edits indexed by hook point and layer, with their vectors uploaded to the backend once.
public final class PreparedEdits {
    struct Entry {
        var edit: ActivationEdit
        var vector: Tensor?
        /// An eraser's `left`, `right` (k × d) and `bias` (1 × d).
        var eraser: (left: Tensor, right: Tensor, bias: Tensor)?
    }

    private var table: [HookPoint: [Int: [Entry]]] = [:]
    private var everyLayer: [HookPoint: [Entry]] = [:]
    /// Layers (and points) that an observer (capture, callback) reads.
    private(set) var observed: [Int: Set<HookPoint>] = [:]
    private(set) var observesEveryLayer: Set<HookPoint> = []
    let isEmpty: Bool

    /// Checks `edits` against `config` and uploads their vectors to `backend`.
    public init(_ edits: [ActivationEdit], config: ModelConfig, backend: ComputeBackend) throws {
        isEmpty = edits.isEmpty
        let d = config.hiddenSize, L = config.numLayers
        for e in edits {
            var vector: Tensor?, eraser: (left: Tensor, right: Tensor, bias: Tensor)?
            switch e.op {
            case .projectOut(let u, _):
                guard u.count == d else { throw ModelError.badInput("an ablation direction has \(u.count) entries for d_model \(d)") }
                vector = backend.upload(u)
            case .add(let v, _):
                guard v.count == d else { throw ModelError.badInput("an added vector has \(v.count) entries for d_model \(d)") }
                vector = backend.upload(v)
            case let .erase(left, right, bias):
                let k = right.count / max(1, d)
                guard bias.count == d, k > 0, right.count == k * d, left.count == k * d else {
                    throw ModelError.badInput("an eraser has \(left.count) + \(right.count) projection entries and a bias of \(bias.count) for d_model \(d)")
                }
                eraser = (backend.upload(left, rows: k), backend.upload(right, rows: k), backend.upload(bias))
            case .capture, .callback:
                break
            }
            let entry = Entry(edit: e, vector: vector, eraser: eraser)
            if let layers = e.layers {
                for l in layers {
                    guard (0..<L).contains(l) else { throw ModelError.badInput("an intervention names layer \(l); the model has \(L)") }
                    table[e.point, default: [:]][l, default: []].append(entry)
                    if e.op.observes { observed[l, default: []].insert(e.point) }
                }
            } else {
                everyLayer[e.point, default: []].append(entry)
                if e.op.observes { observesEveryLayer.insert(e.point) }
            }
        }
    }

    /// The edits at `point` of `layer`, in registration order (every-layer edits first).
    func entries(_ point: HookPoint, _ layer: Int) -> [Entry] {
        if isEmpty { return [] }
        let all = everyLayer[point] ?? []
        guard let own = table[point]?[layer] else { return all }
        return all + own
    }

    /// Whether something observes a point after attention in `layer` (then every row must be computed there).
    func observesAfterAttention(layer: Int) -> Bool {
        observesEveryLayer.contains { $0.afterAttention } || (observed[layer]?.contains { $0.afterAttention } ?? false)
    }
}
