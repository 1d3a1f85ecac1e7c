import Foundation

/// One architecture: how its `config.json` maps onto `ModelConfig` and its tensor names onto `LayerWeights`.
public protocol ModelFamily {
    /// The `model_type` values this family reads.
    static var modelTypes: [String] { get }
    static func config(_ reader: ConfigReader) throws -> ModelConfig
    static func layer(_ l: Int, config: ModelConfig, weights: WeightLoader) throws -> LayerWeights
    static var embeddingName: String { get }
    static var finalNormName: String { get }
    static var lmHeadName: String { get }
    /// What every tensor name of block N starts with, before N (`model.layers.`).
    static var layerNamePrefix: String { get }
    /// Tensors a checkpoint may carry that the model does not use (buffers such as `rotary_emb.inv_freq`).
    static func isIgnorable(_ name: String) -> Bool
}

extension ModelFamily {
    public static var embeddingName: String { "model.embed_tokens.weight" }
    public static var finalNormName: String { "model.norm.weight" }
    public static var lmHeadName: String { "lm_head.weight" }
    public static var layerNamePrefix: String { "model.layers." }
    public static func isIgnorable(_ name: String) -> Bool { name.hasSuffix("rotary_emb.inv_freq") }
}

/// The supported families, looked up by `model_type`.
public enum ModelRegistry {
    public static let families: [ModelFamily.Type] = [
        Llama.self, Mistral.self, Qwen2.self, Qwen3.self, Gemma.self, Gemma2.self, Phi3.self, QwenV1.self,
    ]

    public static var supportedTypes: [String] { families.flatMap { $0.modelTypes } }

    public static func family(for modelType: String) throws -> ModelFamily.Type {
        guard let f = families.first(where: { $0.modelTypes.contains(modelType) }) else {
            throw ModelError.unsupportedModelType(modelType, supported: supportedTypes)
        }
        return f
    }
}

/// The Llama layout most families share (`model.layers.N.self_attn.q_proj` …).
enum LlamaLayout {
    static func prefix(_ l: Int) -> String { "model.layers.\(l)." }  // Llama's layerNamePrefix

    /// Loads a Llama-style block. `attentionBias`: q/k/v biases; `outputBias`: o_proj bias; `mlpBias`: MLP biases.
    static func layer(_ l: Int, config c: ModelConfig, weights w: WeightLoader,
                      attentionBias: Bool, outputBias: Bool, mlpBias: Bool) throws -> LayerWeights {
        let p = prefix(l), d = c.hiddenSize, f = c.intermediateSize
        let a = p + "self_attn.", m = p + "mlp."
        return LayerWeights(
            inputNorm: try w.vector(p + "input_layernorm.weight", count: d),
            qkv: [try w.matrix(a + "q_proj.weight", rows: c.qDim, cols: d),
                  try w.matrix(a + "k_proj.weight", rows: c.kvDim, cols: d),
                  try w.matrix(a + "v_proj.weight", rows: c.kvDim, cols: d)],
            qkvBias: attentionBias
                ? try w.vector(a + "q_proj.bias", count: c.qDim) + w.vector(a + "k_proj.bias", count: c.kvDim)
                    + w.vector(a + "v_proj.bias", count: c.kvDim)
                : nil,
            o: try w.matrix(a + "o_proj.weight", rows: d, cols: c.qDim),
            oBias: outputBias ? try w.vector(a + "o_proj.bias", count: d) : nil,
            preMLPNorm: try w.vector(p + "post_attention_layernorm.weight", count: d),
            gateUp: [try w.matrix(m + "gate_proj.weight", rows: f, cols: d),
                     try w.matrix(m + "up_proj.weight", rows: f, cols: d)],
            gateUpBias: mlpBias ? try w.vector(m + "gate_proj.bias", count: f) + w.vector(m + "up_proj.bias", count: f) : nil,
            down: try w.matrix(m + "down_proj.weight", rows: d, cols: f),
            downBias: mlpBias ? try w.vector(m + "down_proj.bias", count: d) : nil
        )
    }
}
