import Foundation
import Compute

/// gpt-oss (20b, 120b): attention with q/k/v/o biases and a learned sink logit per head, sliding
/// windows on alternating layers (`layer_types`, or even layers by default), YaRN RoPE (the default
/// when the config names none); routed experts on every layer: router with bias, the top
/// `num_experts_per_tok` logits, softmax over them; experts with biases and the clamped SwiGLU
/// (`swiglu_alpha`, `swiglu_limit`).
///
/// Expert weights come fused (`mlp.experts.gate_up_proj` `[experts, d, 2·width]` with interleaved
/// gate/up columns, `down_proj` `[experts, width, d]`), as transformers saves them and as BF16
/// conversions are published, or as the published MXFP4 pairs (`*_blocks`, `*_scales`, dequantized on load).
public enum GptOss: ModelFamily {
    public static let modelTypes = ["gpt_oss"]

    public static func config(_ r: ConfigReader) throws -> ModelConfig {
        var (c, t) = try r.llamaStyle(defaultTied: false, defaultEps: 1e-5, defaultTheta: 150_000)
        if !r.has("rope_parameters") && !r.has("rope_scaling") {
            // transformers' GptOssConfig default: YaRN ×32 over 4096 positions, not truncated.
            c.ropes = [RoPE(headDim: t.headDim, base: Float(try r.positiveNumber("rope_theta") ?? 150_000),
                            scaling: .yarn(factor: 32, originalMaxPositions: 4096, betaFast: 32, betaSlow: 1, truncate: false,
                                           attentionFactor: Float(0.1 * log(32.0) + 1)))]
        }
        let window = try r.optionalPositiveInt("sliding_window") ?? 128
        t.windows = try r.layerTypeWindows(layers: c.numLayers, window: window)
            ?? (0..<c.numLayers).map { $0 % 2 == 0 ? window : nil }
        let activation = MLPActivation.clampedSwiGLU(alpha: Float(try r.positiveNumber("swiglu_alpha") ?? 1.702),
                                                     limit: Float(try r.positiveNumber("swiglu_limit") ?? 7))
        let spec = ExpertsSpec(experts: try r.optionalInt("num_local_experts") ?? r.optionalInt("num_experts") ?? 128,
                               active: try r.optionalInt("num_experts_per_tok") ?? 4, width: t.intermediate,
                               activation: activation, routing: .topKSoftmax)
        c.blocks = t.blocks(layers: c.numLayers).map { b in
            var b = b
            b.attention.sinks = true
            b.mlp = .experts(spec)
            return b
        }
        return c
    }

    public static func tensors(layer l: Int, config c: ModelConfig, has: (String) -> Bool) -> BlockTensors {
        let p = LlamaLayout.prefix(l), e = p + "mlp.experts."
        var t = LlamaLayout.tensors(l, has: has, mlpBias: false)
        t.gateUp = []; t.down = ""
        t.sinks = p + "self_attn.sinks"
        let packed = has(e + "gate_up_proj" + ExpertLayout.blocksSuffix)
        t.experts = ExpertTensors(
            router: p + "mlp.router.weight", routerBias: p + "mlp.router.bias",
            layout: packed ? .mxfp4(gateUp: e + "gate_up_proj", down: e + "down_proj")
                           : .fusedTransposed(gateUp: e + "gate_up_proj", down: e + "down_proj"),
            gateUpBias: e + "gate_up_proj_bias", downBias: e + "down_proj_bias")
        return t
    }
}
