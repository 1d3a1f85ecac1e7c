import Foundation

/// OLMo-2: no norms on the sublayers' inputs; RMSNorms on their outputs (`post_attention_layernorm`,
/// `post_feedforward_layernorm`) before the residual add, and RMSNorms of the queries and keys over all
/// heads at once (`q_norm` of width heads·head_dim) before RoPE. Otherwise Llama (SiLU gated MLP, untied).
public enum OLMo2: ModelFamily {
    public static let modelTypes = ["olmo2"]

    public static func config(_ r: ConfigReader) throws -> ModelConfig {
        var (c, t) = try r.llamaStyle(defaultTied: false, defaultEps: 1e-5)
        try r.requireActivation("hidden_act", supported: ["silu"])
        c.blocks = t.blocks(layers: c.numLayers).map { b in
            var b = b
            b.attention.qkNorm = .whole
            b.preNorms = false
            b.postAttentionNorm = true
            b.postMLPNorm = true
            return b
        }
        return c
    }

    public static func tensors(layer l: Int, config c: ModelConfig, has: (String) -> Bool) -> BlockTensors {
        let p = LlamaLayout.prefix(l), a = p + "self_attn."
        var t = LlamaLayout.tensors(l, has: has, mlpBias: false)
        t.inputNorm = nil
        t.preMLPNorm = nil
        t.qNorm = a + "q_norm.weight"
        t.kNorm = a + "k_norm.weight"
        t.postAttentionNorm = p + "post_attention_layernorm.weight"
        t.postMLPNorm = p + "post_feedforward_layernorm.weight"
        return t
    }
}
