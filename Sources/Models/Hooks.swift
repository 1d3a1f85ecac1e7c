import Foundation
import Compute

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

    /// Whether the point lies after the block's attention (in the last block such points exist only for
    /// the rows that need logits, unless something observes them).
    var afterAttention: Bool { self != .residPre }
}

/// Where a token row of a forward pass comes from.
public struct RowInfo: Sendable, Equatable {
    /// Index of the row's sequence in the caller's input (-1 for a prefix shared by several sequences).
    public var sequence: Int
    /// Position in the sequence (0 = first token).
    public var position: Int
    /// Prompt tokens of the sequence; positions from here on are generated.
    public var promptLength: Int

    public init(sequence: Int, position: Int, promptLength: Int) {
        self.sequence = sequence; self.position = position; self.promptLength = promptLength
    }

    /// True for prompt tokens, false for generated ones.
    public var isPrompt: Bool { position < promptLength }
    /// Prompt tokens counted from the end of the prompt: -1 is the last prompt token; nil for generated ones.
    public var offsetFromPromptEnd: Int? { isPrompt ? position - promptLength : nil }
}

/// The activation a callback sees and may change in place: a host copy of `rows × width` floats,
/// written back to the backend after the callback returns.
public struct Activation {
    public let layer: Int
    public let point: HookPoint
    public let width: Int
    public let data: UnsafeMutablePointer<Float>
    /// One entry per row of `data`.
    public let rows: [RowInfo]

    /// The vector of row `r`; writes change the model's computation.
    @inlinable public func vector(_ r: Int) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: data + r * width, count: width)
    }
}

/// Callbacks at hook points: the explicit escape hatch for code that must see activations on the host
/// (tests, one-off analyses). Every call reads the rows back and writes them back, so nothing hot uses
/// it: interventions and captures are `ActivationEdit` data the backend executes.
public final class Hooks {
    public typealias Function = (Activation) -> Void
    public private(set) var edits: [ActivationEdit] = []

    public init() {}

    /// Hooks that start with `edits` (interventions as data; callbacks can be added after them).
    public init(_ edits: [ActivationEdit]) { self.edits = edits }

    public var isEmpty: Bool { edits.isEmpty }

    /// Appends edits (they act in order with the callbacks).
    public func add(_ edits: [ActivationEdit]) { self.edits += edits }

    /// Registers `fn` at `point` for the given layers (all layers when nil).
    public func add(_ point: HookPoint, layers: [Int]? = nil, _ fn: @escaping Function) {
        edits.append(ActivationEdit(point: point, layers: layers, op: .callback(fn)))
    }

    public func removeAll() { edits.removeAll() }
}
