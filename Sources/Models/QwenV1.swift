import Foundation

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
        var config = ModelConfig(
            modelType: "qwen",
            vocabSize: try r.positiveInt("vocab_size"),
            hiddenSize: hidden,
            intermediateSize: ffn / 2,
            numLayers: layers,
            numHeads: heads,
            numKVHeads: heads,
            headDim: headDim,
            normEps: Float(try r.positiveNumber("layer_norm_epsilon") ?? 1e-6),
            rope: .init(headDim: headDim, partialRotaryFactor: Float(pct), base: Float(try r.positiveNumber("rotary_emb_base") ?? 10000)),
            tieWordEmbeddings: try r.optionalBool("tie_word_embeddings") ?? false,
            attentionScale: 1 / Float(headDim).squareRoot(),
            slidingWindows: Array(repeating: nil, count: layers),
            declaredDType: try r.optionalString("torch_dtype") ?? r.optionalString("dtype"),
            bosTokenId: try r.optionalInt("bos_token_id"),
            eosTokenIds: try r.intList("eos_token_id"),
            configStyle: "v4"
        )
        if longContextTricks { config.maxSequenceLength = try r.optionalPositiveInt("seq_length") ?? 2048 }
        return config
    }

    public static func layer(_ l: Int, config c: ModelConfig, weights w: WeightLoader) throws -> LayerWeights {
        let p = "transformer.h.\(l).", d = c.hiddenSize, f = c.intermediateSize
        let bias = w.contains(p + "mlp.w1.bias")
        return LayerWeights(
            inputNorm: try w.vector(p + "ln_1.weight", count: d),
            qkv: [try w.matrix(p + "attn.c_attn.weight", rows: 3 * c.qDim, cols: d)],
            qkvBias: try w.vector(p + "attn.c_attn.bias", count: 3 * c.qDim),
            o: try w.matrix(p + "attn.c_proj.weight", rows: d, cols: c.qDim),
            oBias: w.contains(p + "attn.c_proj.bias") ? try w.vector(p + "attn.c_proj.bias", count: d) : nil,
            preMLPNorm: try w.vector(p + "ln_2.weight", count: d),
            // Steer's gate/up order: gate = w2 (goes through SiLU), up = w1.
            gateUp: [try w.matrix(p + "mlp.w2.weight", rows: f, cols: d), try w.matrix(p + "mlp.w1.weight", rows: f, cols: d)],
            gateUpBias: bias ? try w.vector(p + "mlp.w2.bias", count: f) + w.vector(p + "mlp.w1.bias", count: f) : nil,
            down: try w.matrix(p + "mlp.c_proj.weight", rows: d, cols: f),
            downBias: bias ? try w.vector(p + "mlp.c_proj.bias", count: d) : nil
        )
    }
}
