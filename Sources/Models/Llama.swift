import Foundation

/// Llama 2 / 3.x (and Yi): GQA, Llama-3 RoPE scaling, optional `head_dim`, `attention_bias`, `mlp_bias`.
public enum Llama: ModelFamily {
    public static let modelTypes = ["llama"]

    public static func config(_ r: ConfigReader) throws -> ModelConfig {
        try r.llamaStyleConfig(defaultTied: false, defaultEps: 1e-6)
    }

    public static func layer(_ l: Int, config c: ModelConfig, weights w: WeightLoader) throws -> LayerWeights {
        let bias = w.contains(LlamaLayout.prefix(l) + "self_attn.q_proj.bias")
        let mlpBias = w.contains(LlamaLayout.prefix(l) + "mlp.down_proj.bias")
        return try LlamaLayout.layer(l, config: c, weights: w, attentionBias: bias, outputBias: bias, mlpBias: mlpBias)
    }
}
