import Foundation

/// Qwen1.5 / Qwen2 / Qwen2.5 (and R1-Distill-Qwen, QwQ): biases on q/k/v, optional sliding window
/// on layers from `max_window_layers` on when `use_sliding_window` is set.
public enum Qwen2: ModelFamily {
    public static let modelTypes = ["qwen2"]

    public static func config(_ r: ConfigReader) throws -> ModelConfig {
        try r.llamaStyleConfig(defaultTied: false, defaultEps: 1e-6) { t in t.windows = try qwenWindows(r, layers: t.windows.count) }
    }

    /// Qwen's `use_sliding_window` / `max_window_layers` rule (or v5 `layer_types`).
    static func qwenWindows(_ r: ConfigReader, layers: Int) throws -> [Int?] {
        let useSliding = try r.optionalBool("use_sliding_window") ?? false
        let window = useSliding ? try r.optionalInt("sliding_window") : nil
        if let fromTypes = try r.layerTypeWindows(layers: layers, window: try r.optionalInt("sliding_window")) {
            return fromTypes
        }
        let firstSliding = try r.optionalInt("max_window_layers") ?? layers
        return (0..<layers).map { window != nil && $0 >= firstSliding ? window : nil }
    }

    public static func tensors(layer l: Int, config c: ModelConfig, has: (String) -> Bool) -> BlockTensors {
        LlamaLayout.tensors(l, attentionBias: true, outputBias: false, mlpBias: false)
    }
}
