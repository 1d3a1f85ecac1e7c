import Foundation

/// Llama 2 / 3.x (and Yi): GQA, Llama-3 RoPE scaling, optional `head_dim`, `attention_bias`, `mlp_bias`.
public enum Llama: ModelFamily {
    public static let modelTypes = ["llama"]

    public static func config(_ r: ConfigReader) throws -> ModelConfig {
        try r.llamaStyleConfig(defaultTied: false, defaultEps: 1e-6)
    }

    public static func tensors(layer l: Int, config c: ModelConfig, has: (String) -> Bool) -> BlockTensors {
        LlamaLayout.tensors(l, has: has)
    }
}
