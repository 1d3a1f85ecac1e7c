import Compute
import Foundation
@testable import Models

/// Models of any `BlockSpec`s with seeded random weights held in memory, for tests of block kinds no
/// fixture family has yet (post-only norms, whole q/k norms, layers without RoPE, residual multipliers).
enum SyntheticFamily: ModelFamily {
    static let modelTypes = ["synthetic"]
    /// Its layers' names (`layers.N.*`), which loading checks against num_hidden_layers.
    static let layerNamePrefix = "layers."

    static func config(_ reader: ConfigReader) throws -> ModelConfig {
        throw ModelError.unsupportedFeature(path: reader.path, feature: "synthetic models are built in memory")
    }

    static func tensors(layer l: Int, config c: ModelConfig, has: (String) -> Bool) -> BlockTensors {
        let spec = c.blocks[l], p = "layers.\(l)."
        let bias = has(p + "q.bias")
        return BlockTensors(
            inputNorm: spec.preNorms ? p + "input_norm" : nil, qkv: [p + "q", p + "k", p + "v"],
            qkvBias: bias ? [p + "q.bias", p + "k.bias", p + "v.bias"] : [],
            qNorm: spec.attention.qkNorm == .none ? nil : p + "q_norm", kNorm: spec.attention.qkNorm == .none ? nil : p + "k_norm",
            o: p + "o", oBias: bias ? p + "o.bias" : nil, postAttentionNorm: spec.postAttentionNorm ? p + "post_attention_norm" : nil,
            preMLPNorm: spec.preNorms ? p + "mlp_norm" : nil, gateUp: [p + "gate", p + "up"],
            gateUpBias: bias ? [p + "gate.bias", p + "up.bias"] : [], down: p + "down", downBias: bias ? p + "down.bias" : nil,
            postMLPNorm: spec.postMLPNorm ? p + "post_mlp_norm" : nil)
    }
}

/// Seeded random tensors by name, as F32 bytes.
final class SyntheticSource: TensorSource {
    private var tensors: [String: (shape: [Int], values: [Float])] = [:]
    private var storage: [String: UnsafeMutableRawBufferPointer] = [:]
    var tensorNames: [String] { Array(tensors.keys) }
    let location = "<synthetic>"

    func add(_ name: String, shape: [Int], values: [Float]) {
        tensors[name] = (shape, values)
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: max(4, values.count * 4), alignment: 64)
        values.withUnsafeBytes { bytes.copyMemory(from: $0) }
        storage[name] = bytes
    }

    func rawTensor(_ name: String) throws -> RawTensor {
        guard let t = tensors[name], let b = storage[name] else { throw ModelError.missingTensors(folder: location, names: [name]) }
        return RawTensor(dtype: "F32", shape: t.shape, bytes: UnsafeRawBufferPointer(rebasing: b[0..<(t.values.count * 4)]), owner: self)
    }

    deinit { for b in storage.values { b.deallocate() } }
}

extension LanguageModel {
    /// A model of `blocks` (hidden size `d`, vocabulary 50, tied embeddings) with weights uniform in ±0.3·scale
    /// (norm weights 1 ± 0.2, or ± 0.2 with Gemma's offset 1), biases when `bias`.
    /// `modelType` only matters to the loader's validation (partial rotary tables are allowed for `phi3`, `qwen`).
    static func synthetic(blocks: [BlockSpec], ropes: [RoPE], d: Int = 32, normOffset: Float = 0, bias: Bool = false,
                          seed: UInt64 = 7, modelType: String = "synthetic") throws -> LanguageModel {
        var state = seed
        func floats(_ n: Int, center: Float = 0, spread: Float) -> [Float] {
            (0..<n).map { _ in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return center + (Float(state >> 40) / Float(1 << 24) * 2 - 1) * spread
            }
        }
        // Loading validates the config as a config.json's: partial rotary is accepted only for the model types
        // whose transformers implementation has it, so a synthetic model with it stands in for Phi-3.
        let partial = ropes.contains { $0.rotaryDim < (blocks.first?.attention.headDim ?? 0) }
        let config = ModelConfig(modelType: partial ? "phi3" : "synthetic", vocabSize: 50, hiddenSize: d, numLayers: blocks.count, normEps: 1e-5,
                                 normWeightOffset: normOffset, ropes: ropes, tieWordEmbeddings: true, blocks: blocks)
        let source = SyntheticSource(), norm = normOffset == 0 ? Float(1) : 0
        source.add(SyntheticFamily.embeddingName, shape: [50, d], values: floats(50 * d, spread: 1))
        source.add(SyntheticFamily.finalNormName, shape: [d], values: floats(d, center: norm, spread: 0.2))
        for (l, spec) in blocks.enumerated() {
            let names = SyntheticFamily.tensors(layer: l, config: config) { _ in bias }
            let a = spec.attention, f = spec.mlp.width
            let qkvRows = [a.qDim, a.kvDim, a.kvDim]
            for (name, rows) in zip(names.qkv, qkvRows) { source.add(name, shape: [rows, d], values: floats(rows * d, spread: 0.3)) }
            for (name, rows) in zip(names.qkvBias, qkvRows) { source.add(name, shape: [rows], values: floats(rows, spread: 0.2)) }
            let whole = a.qkNorm == .whole
            if let q = names.qNorm { source.add(q, shape: [whole ? a.qDim : a.headDim], values: floats(whole ? a.qDim : a.headDim, center: norm, spread: 0.2)) }
            if let k = names.kNorm { source.add(k, shape: [whole ? a.kvDim : a.headDim], values: floats(whole ? a.kvDim : a.headDim, center: norm, spread: 0.2)) }
            source.add(names.o, shape: [d, a.qDim], values: floats(d * a.qDim, spread: 0.3))
            for name in [names.inputNorm, names.postAttentionNorm, names.preMLPNorm, names.postMLPNorm].compactMap({ $0 }) {
                source.add(name, shape: [d], values: floats(d, center: norm, spread: 0.2))
            }
            for name in names.gateUp { source.add(name, shape: [f, d], values: floats(f * d, spread: 0.3)) }
            for name in names.gateUpBias { source.add(name, shape: [f], values: floats(f, spread: 0.2)) }
            source.add(names.down, shape: [d, f], values: floats(d * f, spread: 0.3))
            for name in [names.oBias, names.downBias].compactMap({ $0 }) { source.add(name, shape: [d], values: floats(d, spread: 0.2)) }
        }
        return try ModelLoader.build(family: SyntheticFamily.self, config: config, source: source, precision: .f32)
    }
}
