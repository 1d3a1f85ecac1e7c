import Foundation

/// SmolLM3: the Llama block (tied embeddings by default) where some layers use no positional rotation
/// at all (NoPE): `no_rope_layers[l]` is 1 for a layer with RoPE and 0 without; by default every
/// `no_rope_layer_interval`-th layer (4th) has none. The layers that `layer_types` marks
/// `sliding_attention` (v4: the NoPE layers, with `use_sliding_window` and `sliding_window` set)
/// attend within the window.
public enum SmolLM3: ModelFamily {
    public static let modelTypes = ["smollm3"]

    public static func config(_ r: ConfigReader) throws -> ModelConfig {
        var (c, t) = try r.llamaStyle(defaultTied: true, defaultEps: 1e-6, defaultTheta: 2_000_000)
        try r.requireActivation("hidden_act", supported: ["silu"])
        let layers = c.numLayers
        let withRoPE = try r.layerFlags("no_rope_layers", layers: layers)
            ?? { interval in (0..<layers).map { ($0 + 1) % interval != 0 } }(try r.optionalPositiveInt("no_rope_layer_interval") ?? 4)
        let useSliding = try r.optionalBool("use_sliding_window") ?? false
        let window = try r.optionalPositiveInt("sliding_window")
        // transformers' eager and SDPA masks follow layer_types alone (use_sliding_window steers only
        // flash attention); when absent it derives them: sliding where use_sliding_window, a window and no RoPE.
        let windows = try r.layerTypeWindows(layers: layers, window: window)
            ?? withRoPE.map { !$0 && useSliding ? window : nil }
        c.blocks = t.blocks(layers: layers).enumerated().map { l, b in
            var b = b
            b.attention.rope = withRoPE[l] ? 0 : nil
            b.attention.window = windows[l]
            return b
        }
        return c
    }

    public static func tensors(layer l: Int, config c: ModelConfig, has: (String) -> Bool) -> BlockTensors {
        LlamaLayout.tensors(l, has: has)
    }
}
