import Foundation

/// Hook points of every block, named as in TransformerLens (SPEC §2).
public enum HookPoint: String, CaseIterable, Sendable {
    /// Input of block `l` (= `resid_post` of block `l-1`).
    case residPre = "hook_resid_pre"
    /// After attention has been added, before the MLP.
    case residMid = "hook_resid_mid"
    /// Output of block `l`.
    case residPost = "hook_resid_post"
    /// What attention writes into the residual stream (after Gemma-2's post-attention norm).
    case attnOut = "hook_attn_out"
    /// What the MLP writes into the residual stream (after Gemma-2's post-MLP norm).
    case mlpOut = "hook_mlp_out"
    /// Attention's output projection before any post-attention norm (Gemma-2); the same
    /// activation as `attnOut` in families without sandwich norms. Not a TransformerLens name.
    case attnProj = "hook_attn_proj"
    /// The MLP's down projection before any post-MLP norm (Gemma-2); as `mlpOut` elsewhere.
    case mlpProj = "hook_mlp_proj"

    /// `blocks.{l}.hook_…`
    public func name(layer: Int) -> String { "blocks.\(layer).\(rawValue)" }

    /// Parses `blocks.{l}.hook_…` or a bare `hook_…`/`resid_pre` style name.
    public static func parse(_ s: String) -> (layer: Int?, point: HookPoint)? {
        let parts = s.split(separator: ".")
        if parts.count == 3, parts[0] == "blocks", let l = Int(parts[1]), let p = parse(String(parts[2])) {
            return (l, p.point)
        }
        let key = s.hasPrefix("hook_") ? s : "hook_" + s
        return HookPoint(rawValue: key).map { (nil, $0) }
    }
}

/// Where the rows of one forward step sit in their sequences.
public struct StepLayout: Sendable {
    public let batch: Int
    /// New tokens per row in this step.
    public let steps: Int
    /// Cache slot of step 0 (the same for every row: rows are left-padded to a common length).
    public let firstSlot: Int
    /// Per row, the first slot holding a real token (slots before it are padding).
    public let firstValid: [Int]
    /// Per row, the number of real prompt tokens; later positions are generated.
    public let promptLengths: [Int]

    /// Token position of `(row, step)` in its own sequence (0 = first real token), nil for padding.
    @inlinable public func position(row: Int, step: Int) -> Int? {
        let p = firstSlot + step - firstValid[row]
        return p >= 0 ? p : nil
    }

    /// True for prompt tokens, false for generated tokens and padding.
    @inlinable public func isPrompt(row: Int, step: Int) -> Bool {
        guard let p = position(row: row, step: step) else { return false }
        return p < promptLengths[row]
    }

    /// Prompt tokens counted from the end of the prompt: -1 is the last prompt token; nil otherwise.
    @inlinable public func offsetFromPromptEnd(row: Int, step: Int) -> Int? {
        guard let p = position(row: row, step: step), p < promptLengths[row] else { return nil }
        return p - promptLengths[row]
    }
}

/// The activation a hook sees and may change in place: `batch × steps` rows of `width` floats.
public struct Activation {
    public let layer: Int
    public let point: HookPoint
    public let layout: StepLayout
    public let width: Int
    public let data: UnsafeMutablePointer<Float>

    /// The vector of `(row, step)`; writes change the model's computation.
    @inlinable public func vector(row: Int, step: Int) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: data + (row * layout.steps + step) * width, count: width)
    }
}

/// Functions run at hook points during forward passes (prefill and every generation step).
/// A model with no hooks registered does no hook work at all.
public final class Hooks {
    public typealias Function = (Activation) -> Void
    private var table: [HookPoint: [Int: [Function]]] = [:]
    private var everyLayer: [HookPoint: [Function]] = [:]

    public init() {}

    public var isEmpty: Bool { table.isEmpty && everyLayer.isEmpty }

    /// Registers `fn` at `point` for the given layers (all layers when nil).
    public func add(_ point: HookPoint, layers: [Int]? = nil, _ fn: @escaping Function) {
        if let layers {
            for l in layers { table[point, default: [:]][l, default: []].append(fn) }
        } else {
            everyLayer[point, default: []].append(fn)
        }
    }

    public func removeAll() { table.removeAll(); everyLayer.removeAll() }

    func run(_ point: HookPoint, layer: Int, layout: StepLayout, width: Int, data: UnsafeMutablePointer<Float>) {
        let fns = functions(point, layer)
        if fns.isEmpty { return }
        let act = Activation(layer: layer, point: point, layout: layout, width: width, data: data)
        for f in fns { f(act) }
    }

    func functions(_ point: HookPoint, _ layer: Int) -> [Function] {
        (everyLayer[point] ?? []) + (table[point]?[layer] ?? [])
    }
}
