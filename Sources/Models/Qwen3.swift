import Foundation

/// Qwen3: RMSNorm on every query and key head (`q_norm`, `k_norm`) before RoPE, explicit `head_dim`,
/// optional attention bias.
public enum Qwen3: ModelFamily {
    public static let modelTypes = ["qwen3"]

    public static func config(_ r: ConfigReader) throws -> ModelConfig {
        try r.llamaStyleConfig(defaultTied: false, defaultEps: 1e-6) { t in
            t.windows = try Qwen2.qwenWindows(r, layers: t.windows.count)
            t.qkNorm = .perHead
        }
    }

    public static func tensors(layer l: Int, config c: ModelConfig, has: (String) -> Bool) -> BlockTensors {
        let a = LlamaLayout.prefix(l) + "self_attn."
        var t = LlamaLayout.tensors(l, has: has, mlpBias: false)
        t.qNorm = a + "q_norm.weight"
        t.kNorm = a + "k_norm.weight"
        return t
    }
}
