import Foundation

/// Phi-3 / Phi-3.5 / Phi-4-mini: fused `qkv_proj` and `gate_up_proj`, optional partial rotary and longrope.
public enum Phi3: ModelFamily {
    public static let modelTypes = ["phi3"]

    public static func config(_ r: ConfigReader) throws -> ModelConfig {
        var c = try r.llamaStyleConfig(defaultTied: false, defaultEps: 1e-5)
        c.slidingWindows = try r.uniformWindows(layers: c.numLayers)
        return c
    }

    public static func layer(_ l: Int, config c: ModelConfig, weights w: WeightLoader) throws -> LayerWeights {
        let p = LlamaLayout.prefix(l), d = c.hiddenSize, f = c.intermediateSize
        return LayerWeights(
            inputNorm: try w.vector(p + "input_layernorm.weight", count: d),
            qkv: [try w.matrix(p + "self_attn.qkv_proj.weight", rows: c.qDim + 2 * c.kvDim, cols: d)],
            o: try w.matrix(p + "self_attn.o_proj.weight", rows: d, cols: c.qDim),
            preMLPNorm: try w.vector(p + "post_attention_layernorm.weight", count: d),
            gateUp: [try w.matrix(p + "mlp.gate_up_proj.weight", rows: 2 * f, cols: d)],
            down: try w.matrix(p + "mlp.down_proj.weight", rows: d, cols: f)
        )
    }
}
