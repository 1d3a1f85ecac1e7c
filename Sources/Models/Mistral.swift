import Foundation

/// Mistral: the Llama layout with an optional `sliding_window` on every layer.
public enum Mistral: ModelFamily {
    public static let modelTypes = ["mistral"]

    public static func config(_ r: ConfigReader) throws -> ModelConfig {
        var c = try r.llamaStyleConfig(defaultTied: false, defaultEps: 1e-6)
        let window = try r.optionalInt("sliding_window")
        c.slidingWindows = try r.layerTypeWindows(layers: c.numLayers, window: window)
            ?? Array(repeating: window, count: c.numLayers)
        return c
    }

    public static func layer(_ l: Int, config c: ModelConfig, weights w: WeightLoader) throws -> LayerWeights {
        try LlamaLayout.layer(l, config: c, weights: w, attentionBias: false, outputBias: false, mlpBias: false)
    }
}
