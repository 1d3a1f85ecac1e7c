import Foundation
import Compute

/// Qwen3-MoE (Qwen3-30B-A3B, Qwen3-235B-A22B): Qwen3's attention (per-head q/k RMSNorm, explicit
/// `head_dim`) with routed experts: softmax over `num_experts` router logits, the top
/// `num_experts_per_tok`, renormalised when `norm_topk_prob`. A layer is sparse unless it is in
/// `mlp_only_layers` or `(layer + 1)` is not a multiple of `decoder_sparse_step` (then a dense MLP of
/// `intermediate_size`). Experts are stored one `nn.Linear` per expert (`mlp.experts.E.gate_proj` …),
/// as published and as transformers 5 saves them.
public enum Qwen3MoE: ModelFamily {
    public static let modelTypes = ["qwen3_moe"]

    public static func config(_ r: ConfigReader) throws -> ModelConfig {
        var (c, t) = try r.llamaStyle(defaultTied: false, defaultEps: 1e-6)
        t.qkNorm = .perHead
        // transformers applies sliding_window (default 4096) to every layer when use_sliding_window is set.
        let window = try r.optionalBool("use_sliding_window") ?? false ? try r.optionalPositiveInt("sliding_window") ?? 4096 : nil
        t.windows = Array(repeating: window, count: c.numLayers)
        c.blocks = t.blocks(layers: c.numLayers)
        let experts = try r.optionalInt("num_experts") ?? r.optionalInt("num_local_experts") ?? 128
        guard experts > 0 else { return c }
        let spec = ExpertsSpec(experts: experts, active: try r.optionalInt("num_experts_per_tok") ?? 8,
                               width: try r.optionalPositiveInt("moe_intermediate_size") ?? 768, activation: .silu,
                               routing: .softmaxTopK(normalize: try r.optionalBool("norm_topk_prob") ?? false))
        let step = try r.optionalPositiveInt("decoder_sparse_step") ?? 1
        let dense = Set(try r.intList("mlp_only_layers"))
        for l in 0..<c.numLayers where !dense.contains(l) && (l + 1) % step == 0 { c.blocks[l].mlp = .experts(spec) }
        return c
    }

    public static func tensors(layer l: Int, config c: ModelConfig, has: (String) -> Bool) -> BlockTensors {
        var t = Qwen3.tensors(layer: l, config: c, has: has)
        guard let e = c.blocks[l].mlp.experts else { return t }
        let m = LlamaLayout.prefix(l) + "mlp."
        let names = { (proj: String) in (0..<e.experts).map { m + "experts.\($0).\(proj).weight" } }
        t.gateUp = []; t.down = ""
        t.experts = ExpertTensors(router: m + "gate.weight",
                                  layout: .perExpert(gate: names("gate_proj"), up: names("up_proj"), down: names("down_proj")))
        return t
    }
}
