import Foundation

/// Gemma: RMSNorm scaled by `1 + w`, embeddings times `sqrt(hidden_size)`, GELU-tanh gated MLP, tied head.
public enum Gemma: ModelFamily {
    public static let modelTypes = ["gemma"]

    public static func config(_ r: ConfigReader) throws -> ModelConfig {
        var (c, t) = try r.llamaStyle(defaultTied: true, defaultEps: 1e-6)
        try applyGemmaTraits(&c, &t, r)
        c.blocks = t.blocks(layers: c.numLayers)
        return c
    }

    static func applyGemmaTraits(_ c: inout ModelConfig, _ t: inout LlamaStyleTraits, _ r: ConfigReader) throws {
        c.normWeightOffset = 1
        c.embeddingScale = Float(c.hiddenSize).squareRoot()
        let act = try r.optionalString("hidden_activation") ?? r.optionalString("hidden_act") ?? "gelu_pytorch_tanh"
        switch act {
        case "gelu_pytorch_tanh", "gelu_tanh", "gelu":
            // transformers maps Gemma's legacy "gelu" to the tanh approximation too.
            t.activation = .geluTanh
        default:
            throw ModelError.unsupportedFeature(path: r.path, feature: "hidden_activation '\(act)'")
        }
    }

    public static func tensors(layer l: Int, config c: ModelConfig, has: (String) -> Bool) -> BlockTensors {
        LlamaLayout.tensors(l, attentionBias: false, outputBias: false, mlpBias: false)
    }
}
