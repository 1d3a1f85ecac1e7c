import Foundation
import Compute

/// The original Qwen-1 chat models (`model_type: "qwen"`, remote code): fused `c_attn` with bias,
/// `c_proj`, MLP `w1`/`w2`/`c_proj` computing `w1(x) · silu(w2(x))`, RMSNorms `ln_1`/`ln_2`/`ln_f`.
/// `intermediate_size` in its config is twice the MLP width. Dynamic NTK and log-n attention only
/// act past `seq_length` tokens and are not implemented: longer inputs are refused.
public enum QwenV1: ModelFamily {
    public static let modelTypes = ["qwen"]
    public static let embeddingName = "transformer.wte.weight"
    public static let finalNormName = "transformer.ln_f.weight"
    public static let layerNamePrefix = "transformer.h."

    public static func config(_ r: ConfigReader) throws -> ModelConfig {
        let hidden = try r.positiveInt("hidden_size")
        let heads = try r.positiveInt("num_attention_heads")
        let headDim = try r.optionalInt("kv_channels") ?? hidden / heads
        let layers = try r.positiveInt("num_hidden_layers")
        let ffn = try r.positiveInt("intermediate_size")
        guard ffn % 2 == 0 else { throw ModelError.badConfig(path: r.path, key: "intermediate_size", reason: "must be even") }
        let pct = try r.optionalDouble("rotary_pct") ?? 1
        _ = try ConfigValidation.rotaryDimension(headDim: headDim, factor: pct, path: r.path, headKey: "kv_channels", factorKey: "rotary_pct")
        let longContextTricks = try (r.optionalBool("use_dynamic_ntk") ?? false) || (r.optionalBool("use_logn_attn") ?? false)
        let attention = AttentionBlock(heads: heads, kvHeads: heads, headDim: headDim, scale: 1 / Float(headDim).squareRoot())
        var config = ModelConfig(
            modelType: "qwen",
            vocabSize: try r.positiveInt("vocab_size"),
            hiddenSize: hidden,
            numLayers: layers,
            normEps: Float(try r.positiveNumber("layer_norm_epsilon") ?? 1e-6),
            ropes: [.init(headDim: headDim, partialRotaryFactor: Float(pct), base: Float(try r.positiveNumber("rotary_emb_base") ?? 10000))],
            tieWordEmbeddings: try r.optionalBool("tie_word_embeddings") ?? false,
            blocks: Array(repeating: BlockSpec(attention: attention, mlp: .gated(width: ffn / 2, activation: .silu)), count: layers),
            declaredDType: try r.optionalString("torch_dtype") ?? r.optionalString("dtype"),
            bosTokenId: try r.optionalInt("bos_token_id"),
            eosTokenIds: try r.intList("eos_token_id"),
            configStyle: "v4"
        )
        if longContextTricks { config.maxSequenceLength = try r.optionalPositiveInt("seq_length") ?? 2048 }
        return config
    }

    public static func tensors(layer l: Int, config c: ModelConfig, has: (String) -> Bool) -> BlockTensors {
        let p = "transformer.h.\(l)."
        let bias = has(p + "mlp.w1.bias")
        return BlockTensors(
            inputNorm: p + "ln_1.weight",
            qkv: [p + "attn.c_attn.weight"],
            qkvBias: [p + "attn.c_attn.bias"],
            o: p + "attn.c_proj.weight",
            oBias: has(p + "attn.c_proj.bias") ? p + "attn.c_proj.bias" : nil,
            preMLPNorm: p + "ln_2.weight",
            // Steer's gate/up order: gate = w2 (goes through SiLU), up = w1.
            gateUp: [p + "mlp.w2.weight", p + "mlp.w1.weight"],
            gateUpBias: bias ? [p + "mlp.w2.bias", p + "mlp.w1.bias"] : [],
            down: p + "mlp.c_proj.weight",
            downBias: bias ? p + "mlp.c_proj.bias" : nil
        )
    }
}
