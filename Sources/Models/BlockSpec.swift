import Foundation
import Compute

/// How one decoder block computes, as its family declares it. The forward pass reads nothing else
/// about a family: norm placement, attention kind and MLP kind are all here, per layer.
///
/// The block is `x += m · post_attn?(attn(pre_attn?(x)))`, then `x += m · post_mlp?(mlp(pre_mlp?(x)))`,
/// each norm an RMSNorm scaled by `normOffset + w`, `m` the residual multiplier (1 unless Granite).
public struct BlockSpec: Sendable, Equatable {
    public var attention: AttentionBlock
    public var mlp: MLPKind
    /// Norms on the sublayers' inputs (every family but OLMo-2, which normalises their outputs only).
    public var preNorms = true
    /// A norm on the attention output before it is added to the stream (Gemma-2's sandwich norms, OLMo-2).
    public var postAttentionNorm = false
    /// A norm on the MLP output before it is added to the stream.
    public var postMLPNorm = false
    /// Granite's `residual_multiplier`: each sublayer's output is scaled before it is added.
    public var residualMultiplier: Float?

    public init(attention: AttentionBlock, mlp: MLPKind, preNorms: Bool = true, postAttentionNorm: Bool = false,
                postMLPNorm: Bool = false, residualMultiplier: Float? = nil) {
        self.attention = attention; self.mlp = mlp; self.preNorms = preNorms
        self.postAttentionNorm = postAttentionNorm; self.postMLPNorm = postMLPNorm
        self.residualMultiplier = residualMultiplier
    }
}

/// RMSNorm of queries and keys before RoPE.
public enum QKNorm: Sendable, Equatable {
    case none
    /// Each head over `headDim` (Qwen-3, Gemma-3).
    case perHead
    /// All heads at once, over `heads · headDim` (OLMo-2).
    case whole
}

/// The attention sublayer of a block.
public struct AttentionBlock: Sendable, Equatable {
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    /// Multiplier of `q·k` (1/√head_dim unless the family says otherwise).
    public var scale: Float
    public var softcap: Float?
    /// Sliding window (nil = full attention).
    public var window: Int?
    /// Index into `ModelConfig.ropes` of this layer's rotary embedding (nil: no positional rotation, as
    /// SmolLM3's `no_rope_layers`).
    public var rope: Int?
    /// RMSNorm of queries and keys before RoPE.
    public var qkNorm: QKNorm = .none
    /// gpt-oss's attention sinks: the block reads one sink logit per query head (`BlockTensors.sinks`).
    public var sinks = false

    public init(heads: Int, kvHeads: Int, headDim: Int, scale: Float, softcap: Float? = nil, window: Int? = nil,
                rope: Int? = 0, qkNorm: QKNorm = .none, sinks: Bool = false) {
        self.heads = heads; self.kvHeads = kvHeads; self.headDim = headDim; self.scale = scale
        self.softcap = softcap; self.window = window; self.rope = rope; self.qkNorm = qkNorm; self.sinks = sinks
    }

    public var qDim: Int { heads * headDim }
    public var kvDim: Int { kvHeads * headDim }
    /// Width of a fused `[q | k | v]` row.
    public var qkvWidth: Int { qDim + 2 * kvDim }

    /// What the backend's attention operation needs (the sink logits, if any, come from the block's weights).
    public func spec(sinks values: [Float]? = nil) -> AttentionSpec {
        AttentionSpec(heads: heads, kvHeads: kvHeads, headDim: headDim, scale: scale, softcap: softcap, window: window,
                      sinks: values)
    }
}

/// The MLP sublayer of a block.
public enum MLPKind: Sendable, Equatable {
    /// `down(act(gate(x)) · up(x))`, `width` the intermediate size.
    case gated(width: Int, activation: MLPActivation)
    /// A routed mixture of experts (`ComputeBackend.experts`): each token runs `active` of `experts`
    /// gated MLPs of width `width` and adds their outputs weighted by the router.
    case experts(ExpertsSpec)

    /// The intermediate width (of one expert).
    public var width: Int {
        switch self {
        case .gated(let w, _): return w
        case .experts(let e): return e.width
        }
    }

    /// The experts, when the sublayer is routed.
    public var experts: ExpertsSpec? {
        if case .experts(let e) = self { return e }
        return nil
    }
}

/// The checkpoint tensors one block reads, named by its family. Parts of a fused projection are
/// listed in output order (`[q | k | v]`, `[gate | up]`); a nil or empty optional means the block has none.
public struct BlockTensors: Sendable, Equatable {
    /// nil when the block has no pre-norms (`BlockSpec.preNorms` false).
    public var inputNorm: String?
    public var qkv: [String]
    public var qkvBias: [String] = []
    public var qNorm: String?
    public var kNorm: String?
    public var o: String
    public var oBias: String?
    public var postAttentionNorm: String?
    public var preMLPNorm: String?
    public var gateUp: [String]
    public var gateUpBias: [String] = []
    public var down: String
    public var downBias: String?
    public var postMLPNorm: String?
    /// A routed-experts MLP's tensors (`gateUp`, `down` and their biases are then unused and empty).
    public var experts: ExpertTensors?
    /// `[heads]` attention-sink logits (`AttentionBlock.sinks`).
    public var sinks: String?

    public init(inputNorm: String?, qkv: [String], qkvBias: [String] = [], qNorm: String? = nil, kNorm: String? = nil,
                o: String, oBias: String? = nil, postAttentionNorm: String? = nil, preMLPNorm: String?,
                gateUp: [String], gateUpBias: [String] = [], down: String, downBias: String? = nil,
                postMLPNorm: String? = nil) {
        self.inputNorm = inputNorm; self.qkv = qkv; self.qkvBias = qkvBias; self.qNorm = qNorm; self.kNorm = kNorm
        self.o = o; self.oBias = oBias; self.postAttentionNorm = postAttentionNorm; self.preMLPNorm = preMLPNorm
        self.gateUp = gateUp; self.gateUpBias = gateUpBias; self.down = down; self.downBias = downBias
        self.postMLPNorm = postMLPNorm
    }

    /// The tensors that write into the residual stream (what weight orthogonalization edits): each
    /// output projection with its bias and the norm that follows it, if any; for routed experts every
    /// expert's down projection and bias.
    public var residualWriters: [WriterTensor] {
        var out = [WriterTensor(name: o, layout: .columns, postNorm: postAttentionNorm)]
        if let b = oBias { out.append(WriterTensor(name: b, layout: .bias, postNorm: postAttentionNorm)) }
        if let e = experts {
            out += e.writers.map { WriterTensor(name: $0.name, layout: $0.layout, postNorm: postMLPNorm) }
        } else {
            out.append(WriterTensor(name: down, layout: .columns, postNorm: postMLPNorm))
            if let b = downBias { out.append(WriterTensor(name: b, layout: .bias, postNorm: postMLPNorm)) }
        }
        return out
    }
}

/// A checkpoint tensor that writes into the residual stream, and how it holds the vectors it writes.
public struct WriterTensor: Sendable, Equatable {
    public enum Layout: Sendable, Equatable {
        /// `[d, in]` (`nn.Linear`): every column is what one input unit writes.
        case columns
        /// `[d]`, added to the stream.
        case bias
        /// `[…, d]`: every row of length d is one written vector (gpt-oss's fused `down_proj`
        /// `[experts, width, d]` and `down_proj_bias` `[experts, d]`).
        case rows
    }

    public var name: String
    public var layout: Layout
    /// The norm applied to this tensor's output before it is added to the stream, if any.
    public var postNorm: String?

    public init(name: String, layout: Layout, postNorm: String? = nil) {
        self.name = name; self.layout = layout; self.postNorm = postNorm
    }
}
