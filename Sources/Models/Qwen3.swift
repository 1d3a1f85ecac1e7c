import Foundation

/// Qwen3: RMSNorm on every query and key head (`q_norm`, `k_norm`) before RoPE, explicit `head_dim`,
/// optional attention bias.
public enum Qwen3: ModelFamily {
    public static let modelTypes = ["qwen3"]

    public static func config(_ r: ConfigReader) throws -> ModelConfig {
        var c = try r.llamaStyleConfig(defaultTied: false, defaultEps: 1e-6)
        c.slidingWindows = try Qwen2.qwenWindows(r, layers: c.numLayers)
        c.qkNorm = true
        return c
    }

    public static func layer(_ l: Int, config c: ModelConfig, weights w: WeightLoader) throws -> LayerWeights {
        let a = LlamaLayout.prefix(l) + "self_attn."
        let bias = w.contains(a + "q_proj.bias")
        var layer = try LlamaLayout.layer(l, config: c, weights: w, attentionBias: bias, outputBias: bias, mlpBias: false)
        layer.qNorm = try w.vector(a + "q_norm.weight", count: c.headDim)
        layer.kNorm = try w.vector(a + "k_norm.weight", count: c.headDim)
        return layer
    }
}
