import Foundation

/// IBM Granite (3.x dense): the Llama block with four scalars — embeddings times
/// `embedding_multiplier`, each sublayer's output times `residual_multiplier` before the residual add,
/// `attention_multiplier` in place of 1/√head_dim, and logits divided by `logits_scaling`.
public enum Granite: ModelFamily {
    public static let modelTypes = ["granite"]

    public static func config(_ r: ConfigReader) throws -> ModelConfig {
        var (c, t) = try r.llamaStyle(defaultTied: false, defaultEps: 1e-6)
        try r.requireActivation("hidden_act", supported: ["silu"])
        let residual = try r.positiveNumber("residual_multiplier") ?? 1
        t.scale = Float(try r.positiveNumber("attention_multiplier") ?? 1)
        c.embeddingScale = Float(try r.positiveNumber("embedding_multiplier") ?? 1)
        c.logitDivisor = Float(try r.positiveNumber("logits_scaling") ?? 1)
        c.blocks = t.blocks(layers: c.numLayers).map { b in
            var b = b
            b.residualMultiplier = Float(residual)
            return b
        }
        return c
    }

    public static func tensors(layer l: Int, config c: ModelConfig, has: (String) -> Bool) -> BlockTensors {
        LlamaLayout.tensors(l, has: has)
    }
}
