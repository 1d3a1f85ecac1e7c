import Foundation

/// Gemma-2: Gemma plus sandwich norms, attention-logit and final-logit soft-capping,
/// `query_pre_attn_scalar`, and a sliding window on alternating layers (even layers in v4 configs).
public enum Gemma2: ModelFamily {
    public static let modelTypes = ["gemma2"]

    public static func config(_ r: ConfigReader) throws -> ModelConfig {
        var (c, t) = try r.llamaStyle(defaultTied: true, defaultEps: 1e-6)
        try Gemma.applyGemmaTraits(&c, &t, r)
        t.postNorms = true
        if let s = try r.optionalDouble("query_pre_attn_scalar") { t.scale = Float(1 / s.squareRoot()) }
        t.softcap = try r.optionalDouble("attn_logit_softcapping").map(Float.init)
        c.finalLogitSoftcap = try r.optionalDouble("final_logit_softcapping").map(Float.init)
        let window = try r.optionalInt("sliding_window") ?? 4096
        t.windows = try r.layerTypeWindows(layers: c.numLayers, window: window)
            ?? (0..<c.numLayers).map { $0 % 2 == 0 ? window : nil }
        c.blocks = t.blocks(layers: c.numLayers)
        return c
    }

    public static func tensors(layer l: Int, config c: ModelConfig, has: (String) -> Bool) -> BlockTensors {
        let p = LlamaLayout.prefix(l)
        var t = LlamaLayout.tensors(l, attentionBias: false, outputBias: false, mlpBias: false)
        // In Gemma-2, post_attention_layernorm normalises the attention output; the MLP has its own pre-norm.
        t.postAttentionNorm = p + "post_attention_layernorm.weight"
        t.preMLPNorm = p + "pre_feedforward_layernorm.weight"
        t.postMLPNorm = p + "post_feedforward_layernorm.weight"
        return t
    }
}
