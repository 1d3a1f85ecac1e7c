import Basics
import Foundation

/// Gemma-3: `gemma3_text` (Gemma-3 1B) and the multimodal `gemma3` folders (4B–27B,
/// `Gemma3ForConditionalGeneration`), whose text model Steer loads and whose vision tower and
/// projector it skips by name.
///
/// The block is Gemma-2's (sandwich norms, `(1 + w)` RMSNorms, `sqrt(d)` embedding scale, GELU-tanh,
/// `query_pre_attn_scalar`) plus per-head q/k RMSNorms before RoPE, and two kinds of layers: sliding
/// layers (window `sliding_window`, RoPE base `rope_local_base_freq`, unscaled) and full layers (RoPE
/// base `rope_theta`, with `rope_scaling`, linear ×8 on the larger models). v4 configs give the layer
/// pattern as `sliding_window_pattern` (every n-th layer is full), v5 configs as `layer_types` with the
/// RoPE of each type in `rope_parameters`.
public enum Gemma3: ModelFamily {
    public static let modelTypes = ["gemma3_text", "gemma3"]

    /// `ModelConfig.ropes` indices.
    static let fullRoPE = 0, slidingRoPE = 1

    /// transformers' `Gemma3TextConfig` defaults. Published multimodal configs rely on them: their
    /// `text_config` lists only what differs from these (gemma-3-4b-it gives five keys).
    static let textDefaults: [JSONMember] = [
        ("vocab_size", .int(262_208)), ("hidden_size", .int(2304)), ("intermediate_size", .int(9216)),
        ("num_hidden_layers", .int(26)), ("num_attention_heads", .int(8)), ("num_key_value_heads", .int(4)),
        ("head_dim", .int(256)), ("rms_norm_eps", .number("1e-06")), ("query_pre_attn_scalar", .int(256)),
        ("sliding_window", .int(4096)), ("bos_token_id", .int(2)), ("eos_token_id", .int(1)),
        ("hidden_activation", .string("gelu_pytorch_tanh")), ("max_position_embeddings", .int(131_072)),
    ]

    public static func config(_ r: ConfigReader) throws -> ModelConfig {
        let multimodal = try r.optionalString("model_type") == "gemma3"
        // A multimodal config nests the text model; transformers builds it from defaults when absent.
        let nested = multimodal ? try r.optionalObject("text_config") ?? ConfigReader(path: "\(r.path) (text_config)", members: []) : r
        // The file's keys come after the defaults: a reader takes the last of a repeated key.
        let t = ConfigReader(path: nested.path, members: Self.textDefaults + nested.members)
        var c = try textConfig(t, explicit: nested)
        if multimodal {
            // Gemma3ForConditionalGeneration ties by the top-level key and applies no final soft-cap
            // (only Gemma3ForCausalLM does); token ids and dtype are the top level's when given.
            c.tieWordEmbeddings = try r.optionalBool("tie_word_embeddings") ?? true
            c.finalLogitSoftcap = nil
            let eos = try r.intList("eos_token_id")
            if !eos.isEmpty { c.eosTokenIds = eos }
            if let bos = try r.optionalInt("bos_token_id") { c.bosTokenId = bos }
            c.declaredDType = try r.optionalString("dtype") ?? r.optionalString("torch_dtype") ?? c.declaredDType
            if r.has("dtype") { c.configStyle = "v5" }
        }
        return c
    }

    /// The text model from `t` (the file's keys over `textDefaults`); `explicit` is the file's own object
    /// (for the config style, which defaults must not decide).
    static func textConfig(_ t: ConfigReader, explicit: ConfigReader) throws -> ModelConfig {
        if try t.optionalBool("use_bidirectional_attention") == true {
            throw ModelError.unsupportedFeature(path: t.path, feature: "use_bidirectional_attention (an encoder, not a causal language model)")
        }
        var (c, traits) = try t.llamaStyle(defaultTied: true, defaultEps: 1e-6, defaultTheta: 1_000_000)
        try Gemma.applyGemmaTraits(&c, &traits, t)
        c.configStyle = ["rope_parameters", "dtype", "layer_types"].contains(where: explicit.has) ? "v5" : "v4"
        let scalar = try t.requiredPositiveNumber("query_pre_attn_scalar")
        let scale = Float(pow(scalar, -0.5))
        let softcap = try t.positiveNumber("attn_logit_softcapping").map(Float.init)
        c.finalLogitSoftcap = try t.positiveNumber("final_logit_softcapping").map(Float.init)
        // ropes[0] (full layers) comes from llamaStyle; the sliding layers' table is read for its own type.
        let local = try t.ropeConfig(headDim: traits.headDim, partialRotaryFactor: 1, rotaryDim: traits.headDim, defaultTheta: 10_000,
                                     layerType: "sliding_attention", v4ThetaKey: "rope_local_base_freq", v4Scaling: false)
        c.ropes = [c.ropes[fullRoPE], local]
        let windows = try slidingWindows(t, layers: c.numLayers)
        c.blocks = windows.map { window in
            BlockSpec(attention: AttentionBlock(heads: traits.heads, kvHeads: traits.kvHeads, headDim: traits.headDim, scale: scale,
                                                softcap: softcap, window: window, rope: window == nil ? fullRoPE : slidingRoPE,
                                                qkNorm: .perHead),
                      mlp: .gated(width: traits.intermediate, activation: traits.activation),
                      postAttentionNorm: true, postMLPNorm: true)
        }
        return c
    }

    /// Each layer's window: v5 `layer_types`, else v4 `sliding_window_pattern` (layer i is full when
    /// `(i + 1) % pattern == 0`, as transformers derives it; default 6).
    static func slidingWindows(_ t: ConfigReader, layers: Int) throws -> [Int?] {
        let window = try t.optionalPositiveInt("sliding_window")
        if let typed = try t.layerTypeWindows(layers: layers, window: window) { return typed }
        let pattern = try t.optionalPositiveInt("sliding_window_pattern") ?? 6
        return try (0..<layers).map { i in
            guard (i + 1) % pattern != 0 else { return nil }
            guard let window else {
                throw ModelError.badConfig(path: t.path, key: "sliding_window", reason: "sliding layers need a window (found null)")
            }
            return window
        }
    }

    public static func tensors(layer l: Int, config c: ModelConfig, has: (String) -> Bool) -> BlockTensors {
        let p = LlamaLayout.prefix(l)
        var t = LlamaLayout.tensors(l, has: has, mlpBias: false)
        t.qNorm = p + "self_attn.q_norm.weight"
        t.kNorm = p + "self_attn.k_norm.weight"
        t.postAttentionNorm = p + "post_attention_layernorm.weight"
        t.preMLPNorm = p + "pre_feedforward_layernorm.weight"
        t.postMLPNorm = p + "post_feedforward_layernorm.weight"
        return t
    }

    /// Stored-name prefixes of the parts of a multimodal checkpoint that are not the language model,
    /// in the published layout and in transformers 5's in-memory naming.
    static let towerPrefixes = ["vision_tower.", "multi_modal_projector.", "model.vision_tower.", "model.multi_modal_projector."]

    /// Text-only checkpoints use the declared names. Multimodal ones nest the text model: published
    /// folders (and transformers 5's `save_pretrained`) under `language_model.model.` with the head,
    /// when stored, as `language_model.lm_head.weight` or `lm_head.weight`; transformers 5's in-memory
    /// naming under `model.language_model.` with `lm_head.weight`.
    public static func checkpointLayout(names: [String]) -> CheckpointLayout {
        let skip = "vision tower and multimodal projector"
        if names.contains(where: { $0.hasPrefix("model.language_model.") }) {
            return CheckpointLayout(renames: [.init(declared: "model.", stored: "model.language_model.")],
                                    skippedPrefixes: towerPrefixes, skippedDescription: skip)
        }
        guard names.contains(where: { $0.hasPrefix("language_model.") }) else { return .plain }
        let head = names.contains("lm_head.weight") ? "lm_head." : "language_model.lm_head."
        return CheckpointLayout(renames: [.init(declared: "model.", stored: "language_model.model."), .init(declared: "lm_head.", stored: head)],
                                skippedPrefixes: towerPrefixes, skippedDescription: skip)
    }
}
