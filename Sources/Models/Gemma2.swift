import Foundation

/// Gemma-2: Gemma plus sandwich norms, attention-logit and final-logit soft-capping,
/// `query_pre_attn_scalar`, and a sliding window on alternating layers (even layers in v4 configs).
public enum Gemma2: ModelFamily {
    public static let modelTypes = ["gemma2"]

    public static func config(_ r: ConfigReader) throws -> ModelConfig {
        var c = try r.llamaStyleConfig(defaultTied: true, defaultEps: 1e-6)
        try Gemma.applyGemmaTraits(&c, r)
        c.sandwichNorms = true
        if let s = try r.optionalDouble("query_pre_attn_scalar") { c.attentionScale = Float(1 / s.squareRoot()) }
        c.attentionSoftcap = try r.optionalDouble("attn_logit_softcapping").map(Float.init)
        c.finalLogitSoftcap = try r.optionalDouble("final_logit_softcapping").map(Float.init)
        let window = try r.optionalInt("sliding_window") ?? 4096
        c.slidingWindows = try r.layerTypeWindows(layers: c.numLayers, window: window)
            ?? (0..<c.numLayers).map { $0 % 2 == 0 ? window : nil }
        return c
    }

    public static func layer(_ l: Int, config c: ModelConfig, weights w: WeightLoader) throws -> LayerWeights {
        let p = LlamaLayout.prefix(l), d = c.hiddenSize
        var layer = try LlamaLayout.layer(l, config: c, weights: w, attentionBias: false, outputBias: false, mlpBias: false)
        // In Gemma-2, post_attention_layernorm normalises the attention output; the MLP has its own pre-norm.
        layer.postAttentionNorm = layer.preMLPNorm
        layer.preMLPNorm = try w.vector(p + "pre_feedforward_layernorm.weight", count: d)
        layer.postMLPNorm = try w.vector(p + "post_feedforward_layernorm.weight", count: d)
        return layer
    }
}
