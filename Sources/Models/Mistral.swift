import Foundation

/// Mistral: the Llama layout with an optional `sliding_window` on every layer.
public enum Mistral: ModelFamily {
    public static let modelTypes = ["mistral"]

    public static func config(_ r: ConfigReader) throws -> ModelConfig {
        try r.llamaStyleConfig(defaultTied: false, defaultEps: 1e-6) { t in t.windows = try r.uniformWindows(layers: t.windows.count) }
    }

    public static func tensors(layer l: Int, config c: ModelConfig, has: (String) -> Bool) -> BlockTensors {
        LlamaLayout.tensors(l, attentionBias: false, outputBias: false, mlpBias: false)
    }
}

extension ConfigReader {
    /// `sliding_window` on every layer (or as v5 `layer_types` says), none when it is null.
    func uniformWindows(layers: Int) throws -> [Int?] {
        let window = try optionalInt("sliding_window")
        return try layerTypeWindows(layers: layers, window: window) ?? Array(repeating: window, count: layers)
    }
}
