import Foundation
import Compute

/// Mixtral: Mistral's attention (optional `sliding_window` on every layer) with `num_local_experts`
/// routed experts on every layer: softmax over the router logits, the top `num_experts_per_tok`,
/// renormalised. Experts are stored as `block_sparse_moe.experts.E.w1` (gate), `w3` (up) and `w2`
/// (down), the router as `block_sparse_moe.gate`, as published and as transformers 5 saves them.
public enum Mixtral: ModelFamily {
    public static let modelTypes = ["mixtral"]

    public static func config(_ r: ConfigReader) throws -> ModelConfig {
        var (c, t) = try r.llamaStyle(defaultTied: false, defaultEps: 1e-5)
        t.windows = try r.uniformWindows(layers: c.numLayers)
        let spec = ExpertsSpec(experts: try r.optionalInt("num_local_experts") ?? r.optionalInt("num_experts") ?? 8,
                               active: try r.optionalInt("num_experts_per_tok") ?? 2, width: t.intermediate, activation: .silu,
                               routing: .softmaxTopK(normalize: true))
        c.blocks = t.blocks(layers: c.numLayers).map { b in
            var b = b
            b.mlp = .experts(spec)
            return b
        }
        return c
    }

    public static func tensors(layer l: Int, config c: ModelConfig, has: (String) -> Bool) -> BlockTensors {
        var t = LlamaLayout.tensors(l, attentionBias: false, outputBias: false, mlpBias: false)
        let m = LlamaLayout.prefix(l) + "block_sparse_moe."
        let n = c.blocks[l].mlp.experts?.experts ?? 0
        let names = { (w: String) in (0..<n).map { m + "experts.\($0).\(w).weight" } }
        t.gateUp = []; t.down = ""
        t.experts = ExpertTensors(router: m + "gate.weight", layout: .perExpert(gate: names("w1"), up: names("w3"), down: names("w2")))
        return t
    }
}
