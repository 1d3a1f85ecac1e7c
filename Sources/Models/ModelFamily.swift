import Foundation

/// One architecture, declared: how its `config.json` maps onto `ModelConfig` (with a `BlockSpec` per
/// layer) and which checkpoint tensors each block reads. A family file holds everything Steer knows
/// about its architecture; nothing outside the family files tests `model_type`.
public protocol ModelFamily {
    /// The `model_type` values this family reads.
    static var modelTypes: [String] { get }
    static func config(_ reader: ConfigReader) throws -> ModelConfig
    /// The tensors block `l` reads; `has(name)` tells whether the checkpoint holds a tensor (optional biases).
    static func tensors(layer l: Int, config: ModelConfig, has: (String) -> Bool) -> BlockTensors
    static var embeddingName: String { get }
    static var finalNormName: String { get }
    static var lmHeadName: String { get }
    /// What every tensor name of block N starts with, before N (`model.layers.`).
    static var layerNamePrefix: String { get }
    /// Tensors a checkpoint may carry that the model does not use (buffers such as `rotary_emb.inv_freq`).
    static func isIgnorable(_ name: String) -> Bool
    /// Where a checkpoint with these tensor names keeps the declared tensors (`.plain` unless the
    /// family reads multimodal folders).
    static func checkpointLayout(names: [String]) -> CheckpointLayout
}

extension ModelFamily {
    public static var embeddingName: String { "model.embed_tokens.weight" }
    public static var finalNormName: String { "model.norm.weight" }
    public static var lmHeadName: String { "lm_head.weight" }
    public static var layerNamePrefix: String { "model.layers." }
    public static func isIgnorable(_ name: String) -> Bool { name.hasSuffix("rotary_emb.inv_freq") }
    public static func checkpointLayout(names: [String]) -> CheckpointLayout { .plain }
}

/// The supported families, looked up by `model_type`.
public enum ModelRegistry {
    public static let families: [ModelFamily.Type] = [
        Llama.self, Mistral.self, Qwen2.self, Qwen3.self, Gemma.self, Gemma2.self, Phi3.self, QwenV1.self,
        Gemma3.self, OLMo2.self, SmolLM3.self, Granite.self,
        Qwen3MoE.self, Mixtral.self, GptOss.self,
    ]

    public static var supportedTypes: [String] { families.flatMap { $0.modelTypes } }

    public static func family(for modelType: String) throws -> ModelFamily.Type {
        guard let f = families.first(where: { $0.modelTypes.contains(modelType) }) else {
            throw ModelError.unsupportedModelType(modelType, supported: supportedTypes)
        }
        return f
    }
}

/// The Llama tensor names most families share (`model.layers.N.self_attn.q_proj` …).
enum LlamaLayout {
    static func prefix(_ l: Int) -> String { "model.layers.\(l)." }  // Llama's layerNamePrefix

    /// A Llama-style block with the biases the checkpoint holds: q/k/v and o_proj biases when `q_proj` has one
    /// (transformers' `attention_bias`), MLP biases when `down_proj` has one and the family allows them (`mlp_bias`).
    static func tensors(_ l: Int, has: (String) -> Bool, mlpBias: Bool = true) -> BlockTensors {
        let p = prefix(l), bias = has(p + "self_attn.q_proj.bias")
        return tensors(l, attentionBias: bias, outputBias: bias, mlpBias: mlpBias && has(p + "mlp.down_proj.bias"))
    }

    /// A Llama-style block. `attentionBias`: q/k/v biases; `outputBias`: o_proj bias; `mlpBias`: MLP biases.
    static func tensors(_ l: Int, attentionBias: Bool, outputBias: Bool, mlpBias: Bool) -> BlockTensors {
        let p = prefix(l), a = p + "self_attn.", m = p + "mlp."
        return BlockTensors(
            inputNorm: p + "input_layernorm.weight",
            qkv: [a + "q_proj.weight", a + "k_proj.weight", a + "v_proj.weight"],
            qkvBias: attentionBias ? [a + "q_proj.bias", a + "k_proj.bias", a + "v_proj.bias"] : [],
            o: a + "o_proj.weight",
            oBias: outputBias ? a + "o_proj.bias" : nil,
            preMLPNorm: p + "post_attention_layernorm.weight",
            gateUp: [m + "gate_proj.weight", m + "up_proj.weight"],
            gateUpBias: mlpBias ? [m + "gate_proj.bias", m + "up_proj.bias"] : [],
            down: m + "down_proj.weight",
            downBias: mlpBias ? m + "down_proj.bias" : nil
        )
    }
}
