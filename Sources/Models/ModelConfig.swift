import Foundation
import Compute

/// The architecture of a decoder-only transformer, normalised across families and across the
/// v4 and v5 styles of transformers' `config.json`. Family files fill it from their config; what
/// differs between layers is in `blocks`.
public struct ModelConfig: Sendable {
    public var modelType: String
    public var vocabSize: Int
    public var hiddenSize: Int
    public var numLayers: Int
    public var normEps: Float
    /// Gemma stores RMSNorm weights as `w` and scales by `1 + w`.
    public var normWeightOffset: Float = 0
    /// The rotary embeddings the blocks use (`AttentionBlock.rope` indexes this list).
    public var ropes: [RoPE]
    public var tieWordEmbeddings: Bool
    /// Gemma multiplies embeddings by `sqrt(hidden_size)`.
    public var embeddingScale: Float?
    public var finalLogitSoftcap: Float?
    /// Granite divides the logits by `logits_scaling`.
    public var logitDivisor: Float?
    /// One spec per layer.
    public var blocks: [BlockSpec]
    /// Dtype the checkpoint declares (`torch_dtype` in v4, `dtype` in v5), if any.
    public var declaredDType: String?
    public var bosTokenId: Int?
    public var eosTokenIds: [Int] = []
    /// Longest sequence the implementation reproduces exactly (Qwen-1's dynamic NTK and log-n
    /// attention change the computation past `seq_length`; Steer refuses such inputs).
    public var maxSequenceLength: Int?
    /// Which config style the file used ("v4" or "v5"), for `steer info`.
    public var configStyle: String = "v4"

    /// The first block's attention (families with uniform attention shapes use it for sizes).
    public var attention: AttentionBlock { blocks[0].attention }
    public var numHeads: Int { attention.heads }
    public var numKVHeads: Int { attention.kvHeads }
    public var headDim: Int { attention.headDim }
    /// The largest MLP width of any block.
    public var intermediateSize: Int { blocks.map(\.mlp.width).max() ?? 0 }
    /// Sliding window of each layer (nil = full attention).
    public var slidingWindows: [Int?] { blocks.map(\.attention.window) }
    /// Whether any block has norms after its sublayers.
    public var hasPostNorms: Bool { blocks.contains { $0.postAttentionNorm || $0.postMLPNorm } }
}

/// The per-layer traits a Llama-style family sets before its blocks are built.
struct LlamaStyleTraits {
    var heads: Int
    var kvHeads: Int
    var headDim: Int
    var intermediate: Int
    var activation: MLPActivation = .silu
    var scale: Float
    var softcap: Float?
    var windows: [Int?]
    var qkNorm: QKNorm = .none
    var postNorms = false

    /// Uniform blocks from these traits.
    func blocks(layers: Int) -> [BlockSpec] {
        (0..<layers).map { l in
            BlockSpec(attention: AttentionBlock(heads: heads, kvHeads: kvHeads, headDim: headDim, scale: scale, softcap: softcap,
                                                window: windows[l], rope: 0, qkNorm: qkNorm),
                      mlp: .gated(width: intermediate, activation: activation),
                      postAttentionNorm: postNorms, postMLPNorm: postNorms)
        }
    }
}

/// Reading the keys that most Hugging Face families share (Llama-style names).
extension ConfigReader {
    /// Decodes the Llama-style shared fields; families adjust the traits and call `build`.
    func llamaStyle(defaultTied: Bool, defaultEps: Double = 1e-6, defaultTheta: Double = 10000) throws -> (ModelConfig, LlamaStyleTraits) {
        let hidden = try positiveInt("hidden_size")
        let heads = try positiveInt("num_attention_heads")
        let kvHeads = try optionalInt("num_key_value_heads") ?? heads
        guard kvHeads > 0, heads % kvHeads == 0 else {
            throw fail("num_key_value_heads", "\(kvHeads) does not divide num_attention_heads \(heads)")
        }
        let headDim = try optionalInt("head_dim") ?? (hidden / heads)
        let layers = try positiveInt("num_hidden_layers")
        // v5 moved partial_rotary_factor into rope_parameters.
        let partial = try optionalObject("rope_parameters")?.optionalDouble("partial_rotary_factor")
            ?? optionalDouble("partial_rotary_factor") ?? 1
        let rotaryDim = try ConfigValidation.rotaryDimension(headDim: headDim, factor: partial, path: path,
                                                             headKey: "head_dim", factorKey: "partial_rotary_factor")
        let rope = try ropeConfig(headDim: headDim, partialRotaryFactor: Float(partial), rotaryDim: rotaryDim,
                                  defaultTheta: defaultTheta)
        let traits = LlamaStyleTraits(heads: heads, kvHeads: kvHeads, headDim: headDim,
                                      intermediate: try positiveInt("intermediate_size"),
                                      scale: 1 / Float(headDim).squareRoot(),
                                      windows: Array(repeating: nil, count: layers))
        let config = ModelConfig(
            modelType: try optionalString("model_type") ?? "?",
            vocabSize: try positiveInt("vocab_size"),
            hiddenSize: hidden,
            numLayers: layers,
            normEps: Float(try positiveNumber("rms_norm_eps") ?? defaultEps),
            ropes: [rope],
            tieWordEmbeddings: try optionalBool("tie_word_embeddings") ?? defaultTied,
            blocks: [],
            declaredDType: try optionalString("dtype") ?? optionalString("torch_dtype"),
            bosTokenId: try optionalInt("bos_token_id"),
            eosTokenIds: try intList("eos_token_id"),
            configStyle: has("rope_parameters") || has("dtype") || has("layer_types") ? "v5" : "v4"
        )
        return (config, traits)
    }

    /// A Llama-style config with uniform blocks and no family-specific traits.
    func llamaStyleConfig(defaultTied: Bool, defaultEps: Double = 1e-6, adjust: (inout LlamaStyleTraits) throws -> Void = { _ in })
        throws -> ModelConfig {
        var (c, t) = try llamaStyle(defaultTied: defaultTied, defaultEps: defaultEps)
        try adjust(&t)
        c.blocks = t.blocks(layers: c.numLayers)
        return c
    }

    /// RoPE from either `rope_theta` + `rope_scaling` (v4, `type` or `rope_type`) or `rope_parameters` (v5).
    /// `rotaryDim` is the validated rotated width (`ConfigValidation.rotaryDimension`).
    func ropeConfig(headDim: Int, partialRotaryFactor: Float, rotaryDim: Int, defaultTheta: Double) throws -> RoPE {
        var params: ConfigReader? = try optionalObject("rope_parameters")
        // v5 may nest parameters per attention type (Gemma-3 style); all supported families use one set.
        if let p = params, let full = try p.optionalObject("full_attention") { params = full }
        let scaling = try params ?? optionalObject("rope_scaling")
        let theta = try params?.positiveNumber("rope_theta") ?? positiveNumber("rope_theta") ?? defaultTheta
        let kind = try scaling?.optionalString("rope_type") ?? scaling?.optionalString("type") ?? "default"
        let key = params == nil ? "rope_scaling" : "rope_parameters"
        let ropeScaling: RoPE.Scaling
        switch kind {
        case "default":
            ropeScaling = .none
        case "linear":
            guard let s = scaling else { throw fail(key, "missing") }
            ropeScaling = .linear(factor: Float(try s.requiredPositiveNumber("factor")))
        case "llama3":
            guard let s = scaling else { throw fail(key, "missing") }
            ropeScaling = .llama3(factor: Float(try s.requiredPositiveNumber("factor")),
                                  lowFreqFactor: Float(try s.requiredPositiveNumber("low_freq_factor")),
                                  highFreqFactor: Float(try s.requiredPositiveNumber("high_freq_factor")),
                                  originalMaxPositions: try s.positiveInt("original_max_position_embeddings"))
        case "longrope", "su":
            guard let s = scaling else { throw fail(key, "missing") }
            let half = rotaryDim / 2
            guard let short = try s.optionalDoubleArray("short_factor"), let long = try s.optionalDoubleArray("long_factor"),
                  short.count == half, long.count == half else {
                throw fail(key, "longrope needs short_factor and long_factor of length \(half)")
            }
            let maxPos = try positiveInt("max_position_embeddings")
            let original = try optionalPositiveInt("original_max_position_embeddings")
                ?? s.optionalPositiveInt("original_max_position_embeddings") ?? maxPos
            let factor = Double(maxPos) / Double(original)
            let attention = try s.positiveNumber("attention_factor")
                ?? (factor <= 1 ? 1 : (1 + log(factor) / log(Double(original))).squareRoot())
            ropeScaling = .longrope(short: short.map(Float.init), long: long.map(Float.init),
                                    originalMaxPositions: original, attentionFactor: Float(attention))
        default:
            throw ModelError.unsupportedFeature(path: path, feature: "rope type '\(kind)' (supported: default, linear, llama3, longrope)")
        }
        return RoPE(headDim: headDim, partialRotaryFactor: partialRotaryFactor, base: Float(theta), scaling: ropeScaling)
    }

    /// Per-layer sliding windows from v5 `layer_types`, if present.
    func layerTypeWindows(layers: Int, window: Int?) throws -> [Int?]? {
        guard let types = try optionalStringArray("layer_types") else { return nil }
        guard types.count == layers else { throw fail("layer_types", "has \(types.count) entries for \(layers) layers") }
        return try types.map { t in
            switch t {
            case "full_attention": return nil
            case "sliding_attention":
                guard let w = window else { throw fail("sliding_window", "layer_types has sliding layers but no window") }
                return w
            default: throw fail("layer_types", "unknown layer type '\(t)'")
            }
        }
    }
}
