import Foundation

/// Phi-3 / Phi-3.5 / Phi-4-mini: fused `qkv_proj` and `gate_up_proj`, optional partial rotary and longrope.
public enum Phi3: ModelFamily {
    public static let modelTypes = ["phi3"]

    public static func config(_ r: ConfigReader) throws -> ModelConfig {
        try r.llamaStyleConfig(defaultTied: false, defaultEps: 1e-5) { t in t.windows = try r.uniformWindows(layers: t.windows.count) }
    }

    public static func tensors(layer l: Int, config c: ModelConfig, has: (String) -> Bool) -> BlockTensors {
        let p = LlamaLayout.prefix(l)
        return BlockTensors(
            inputNorm: p + "input_layernorm.weight",
            qkv: [p + "self_attn.qkv_proj.weight"],
            o: p + "self_attn.o_proj.weight",
            preMLPNorm: p + "post_attention_layernorm.weight",
            gateUp: [p + "mlp.gate_up_proj.weight"],
            down: p + "mlp.down_proj.weight"
        )
    }
}
