import Foundation
import Compute

/// Every rule a model's `config.json` must satisfy, in one place, checked in an order that cannot
/// allocate from an unchecked number:
///
/// 1. While decoding: each size key is bounded (`maximum`), and each number that shapes a table
///    (head and rotary dimensions, RoPE bases and factors, windows) is range-checked by the typed
///    getters below before the family builds anything from it.
/// 2. After decoding (`validate`): consistency of the whole `ModelConfig` (heads and KV heads,
///    per-layer lists, RoPE scaling lists, soft-caps, token ids against the vocabulary, partial
///    rotary only where transformers implements it).
/// 3. Before loading any weight (`checkAgainstWeights`): the layer count and the embedding shape
///    against the tensors in the files, so a config that claims 10⁹ layers fails on names alone.
///    Every other tensor's shape is checked by strict loading before it is converted.
///
/// After these checks every size the forward pass allocates from is backed by tensors that exist,
/// so memory is bounded by what the weights imply. Nothing read from a file reaches the backend's kernels before passing here.
public enum ConfigValidation {
    /// Largest accepted values of size keys. Far above any released model (the largest have
    /// vocabularies of ~260k, hidden sizes of ~25k, ~130 layers, head dimensions of 256), and small
    /// enough that the per-layer lists and RoPE tables built from them before the weights are
    /// checked stay tiny, and that products of them cannot overflow.
    public static let maximum: [String: Int] = [
        "vocab_size": 1 << 24,
        "hidden_size": 1 << 17,
        "intermediate_size": 1 << 20,
        "num_hidden_layers": 1 << 12,
        "num_attention_heads": 1 << 12,
        "num_key_value_heads": 1 << 12,
        "head_dim": 1 << 12,
        "kv_channels": 1 << 12,
        "max_position_embeddings": 1 << 30,
        "original_max_position_embeddings": 1 << 30,
        "seq_length": 1 << 30,
        "sliding_window": 1 << 30,
    ]

    /// `model_type`s whose transformers implementation rotates only part of each head
    /// (Phi-3's `partial_rotary_factor`, Qwen-1's `rotary_pct`); elsewhere transformers fails on it.
    static let partialRotaryTypes: Set<String> = ["phi3", "qwen"]

    /// The rotated width per head for `factor`, computed as RoPE does (`Int(Float(head_dim) × factor)`).
    /// The head dimension must be positive and even, the factor in (0, 1], the width even and ≥ 2.
    static func rotaryDimension(headDim: Int, factor: Double, path: String, headKey: String, factorKey: String) throws -> Int {
        guard headDim > 0, headDim % 2 == 0 else {
            throw ModelError.badConfig(path: path, key: headKey, reason: "head dimension \(headDim) must be a positive even number")
        }
        guard factor.isFinite, factor > 0, factor <= 1 else {
            throw ModelError.badConfig(path: path, key: factorKey, reason: "\(factor) is outside (0, 1]")
        }
        let dim = Int(Float(headDim) * Float(factor))
        guard dim >= 2, dim % 2 == 0 else {
            throw ModelError.badConfig(path: path, key: factorKey,
                reason: "\(factor) × head dimension \(headDim) gives \(dim) rotary dimensions; an even number ≥ 2 is needed")
        }
        return dim
    }

    /// Consistency of a decoded config (`path` names the file in errors).
    static func validate(_ c: ModelConfig, path: String) throws {
        func fail(_ key: String, _ reason: String) -> ModelError { .badConfig(path: path, key: key, reason: reason) }
        for (key, value) in [("vocab_size", c.vocabSize), ("hidden_size", c.hiddenSize), ("num_hidden_layers", c.numLayers)] {
            guard value > 0, value <= (maximum[key] ?? Int.max) else { throw fail(key, "\(value) is outside 1...\(maximum[key] ?? Int.max)") }
        }
        guard c.blocks.count == c.numLayers else {
            throw fail("layer_types", "\(c.blocks.count) per-layer entries for \(c.numLayers) layers")
        }
        guard c.normEps.isFinite, c.normEps > 0 else { throw fail("rms_norm_eps", "\(c.normEps) must be finite and positive") }
        for rope in c.ropes { try validateRoPE(rope, config: c, path: path) }
        for b in c.blocks {
            let a = b.attention
            for (key, value) in [("num_attention_heads", a.heads), ("num_key_value_heads", a.kvHeads)] {
                guard value > 0, value <= (maximum[key] ?? Int.max) else { throw fail(key, "\(value) is outside 1...\(maximum[key] ?? Int.max)") }
            }
            guard a.heads % a.kvHeads == 0 else {
                throw fail("num_key_value_heads", "\(a.kvHeads) does not divide num_attention_heads \(a.heads)")
            }
            guard a.headDim > 0, a.headDim % 2 == 0, a.headDim <= (maximum["head_dim"] ?? 0) else {
                throw fail("head_dim", "head dimension \(a.headDim) must be a positive even number")
            }
            guard b.mlp.width > 0, b.mlp.width <= (maximum["intermediate_size"] ?? Int.max) else {
                throw fail("intermediate_size", "\(b.mlp.width) is outside 1...\(maximum["intermediate_size"] ?? Int.max)")
            }
            if let r = a.rope {
                guard c.ropes.indices.contains(r) else { throw fail("rope_parameters", "a layer names RoPE table \(r) of \(c.ropes.count)") }
                guard c.ropes[r].rotaryDim <= a.headDim else {
                    throw fail("partial_rotary_factor", "gives \(c.ropes[r].rotaryDim) rotary dimensions for head dimension \(a.headDim)")
                }
            }
            guard a.scale.isFinite, a.scale > 0 else {
                throw fail("query_pre_attn_scalar", "gives the attention scale \(a.scale); it must be finite and positive")
            }
            if let cap = a.softcap, !(cap.isFinite && cap > 0) { throw fail("attn_logit_softcapping", "\(cap) must be finite and positive (or null)") }
            if let w = a.window, w < 1 { throw fail("sliding_window", "\(w) must be at least 1 (or null)") }
            if let m = b.residualMultiplier, !(m.isFinite && m > 0) { throw fail("residual_multiplier", "\(m) must be finite and positive") }
        }
        if let cap = c.finalLogitSoftcap, !(cap.isFinite && cap > 0) {
            throw fail("final_logit_softcapping", "\(cap) must be finite and positive (or null)")
        }
        if let div = c.logitDivisor, !(div.isFinite && div > 0) { throw fail("logits_scaling", "\(div) must be finite and positive") }
        if let s = c.embeddingScale, !(s.isFinite && s > 0) { throw fail("hidden_size", "embedding scale \(s) is not finite") }
        if let m = c.maxSequenceLength, m < 1 { throw fail("seq_length", "\(m) must be at least 1") }
        if let bos = c.bosTokenId { try checkTokenIds([bos], key: "bos_token_id", vocab: c.vocabSize, path: path) }
        try checkTokenIds(c.eosTokenIds, key: "eos_token_id", vocab: c.vocabSize, path: path)
    }

    private static func validateRoPE(_ rope: RoPE, config c: ModelConfig, path: String) throws {
        func fail(_ key: String, _ reason: String) -> ModelError { .badConfig(path: path, key: key, reason: reason) }
        let rotary = rope.rotaryDim
        guard rotary >= 2, rotary % 2 == 0, rotary <= c.headDim else {
            throw fail("partial_rotary_factor", "gives \(rotary) rotary dimensions for head dimension \(c.headDim)")
        }
        if rotary < c.headDim && !partialRotaryTypes.contains(c.modelType) {
            throw ModelError.unsupportedFeature(path: path,
                feature: "partial_rotary_factor below 1 for model_type '\(c.modelType)' (transformers rotates whole heads here; only \(partialRotaryTypes.sorted().joined(separator: ", ")) rotate part)")
        }
        func positive(_ values: [Float]) -> Bool { values.allSatisfy { $0.isFinite && $0 > 0 } }
        switch rope.scaling {
        case .none:
            break
        case .linear(let factor):
            guard positive([factor]) else { throw fail("rope_scaling", "factor \(factor) must be finite and positive") }
        case let .llama3(factor, low, high, original):
            guard positive([factor, low, high]), high > low, original >= 1 else {
                throw fail("rope_scaling", "llama3 needs positive factor, low_freq_factor < high_freq_factor and original_max_position_embeddings ≥ 1")
            }
        case let .longrope(short, long, original, attention):
            guard short.count == rotary / 2, long.count == rotary / 2 else {
                throw fail("rope_scaling", "longrope needs short_factor and long_factor of length \(rotary / 2)")
            }
            guard positive(short), positive(long) else { throw fail("rope_scaling", "longrope factors must be finite and positive") }
            guard original >= 1, positive([attention]) else {
                throw fail("rope_scaling", "longrope needs original_max_position_embeddings ≥ 1 and a finite positive attention factor (found \(attention))")
            }
        }
    }

    /// Token ids (`bos_token_id`, `eos_token_id`) must name rows of the embedding.
    static func checkTokenIds(_ ids: [Int], key: String, vocab: Int, path: String) throws {
        if let bad = ids.first(where: { $0 < 0 || $0 >= vocab }) {
            throw ModelError.badConfig(path: path, key: key, reason: "token id \(bad) is outside the vocabulary 0..<\(vocab)")
        }
    }

    /// The config against the checkpoint's tensor names and the embedding's shape, before any
    /// weight is loaded: the layers present must be exactly `0..<num_hidden_layers`.
    static func checkAgainstWeights(_ c: ModelConfig, family: ModelFamily.Type, source: TensorSource, configPath: String) throws {
        let prefix = family.layerNamePrefix
        var found = Set<Int>()
        for name in source.tensorNames where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            guard let dot = rest.firstIndex(of: "."), let l = Int(rest[..<dot]), l >= 0 else { continue }
            found.insert(l)
        }
        if found.count != c.numLayers || found.contains(where: { $0 >= c.numLayers }) {
            let held = found.isEmpty ? "no layers" : found.count == (found.max() ?? 0) + 1
                ? "layers 0...\(found.max() ?? 0)" : "\(found.count) layer indices from \(found.min() ?? 0) to \(found.max() ?? 0)"
            throw ModelError.badConfig(path: configPath, key: "num_hidden_layers",
                reason: "\(c.numLayers) layers, but the weights in \(source.location) hold \(held) (\(prefix)N.*)")
        }
        let embedding = family.embeddingName
        if source.tensorNames.contains(embedding) {
            let shape = try source.rawTensor(embedding).shape
            guard shape == [c.vocabSize, c.hiddenSize] else {
                throw ModelError.badTensorShape(name: embedding, expected: [c.vocabSize, c.hiddenSize], actual: shape)
            }
        }
    }
}

/// Range-checked getters for the numbers that size or shape what a family builds while decoding.
extension ConfigReader {
    /// A number that must be finite and positive also as a Float (a base, factor, epsilon or scale).
    func positiveNumber(_ key: String) throws -> Double? {
        guard let v = try optionalDouble(key) else { return nil }
        let f = Float(v)
        guard v.isFinite, v > 0, f.isFinite, f.isNormal else {
            throw fail(key, "\(v) must be a finite positive number within Float range")
        }
        return v
    }

    /// `positiveNumber` for a key that must be present.
    func requiredPositiveNumber(_ key: String) throws -> Double {
        guard let v = try positiveNumber(key) else { throw fail(key, "missing") }
        return v
    }

    /// A positive integer (a window or length), or nil when absent or null.
    func optionalPositiveInt(_ key: String) throws -> Int? {
        guard let w = try optionalInt(key) else { return nil }
        guard w >= 1 else { throw fail(key, "\(w) must be at least 1 (or null)") }
        return w
    }
}
