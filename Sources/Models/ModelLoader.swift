import Foundation
import Compute

/// Builds a `LanguageModel` from a Hugging Face folder: `config.json`, weights, `generation_config.json`.
public enum ModelLoader {
    /// Reads `config.json` (and `generation_config.json`) and returns the family and its normalised,
    /// validated config (see `ConfigValidation`).
    public static func readConfig(directory: URL) throws -> (family: ModelFamily.Type, config: ModelConfig) {
        let reader = try ConfigReader(contentsOf: directory.appendingPathComponent("config.json"))
        guard let type = try reader.optionalString("model_type") else {
            throw ModelError.badConfig(path: reader.path, key: "model_type", reason: "missing")
        }
        let family = try ModelRegistry.family(for: type)
        var config = try family.config(reader)
        config.modelType = type
        try ConfigValidation.validate(config, path: reader.path)
        // generation_config.json's EOS ids win over config.json's, as in transformers' generate().
        let genURL = directory.appendingPathComponent("generation_config.json")
        if FileManager.default.fileExists(atPath: genURL.path) {
            let gen = try ConfigReader(contentsOf: genURL)
            let eos = try gen.intList("eos_token_id")
            try ConfigValidation.checkTokenIds(eos, key: "eos_token_id", vocab: config.vocabSize, path: gen.path)
            if !eos.isEmpty { config.eosTokenIds = eos }
            if let bos = try gen.optionalInt("bos_token_id") {
                try ConfigValidation.checkTokenIds([bos], key: "bos_token_id", vocab: config.vocabSize, path: gen.path)
                config.bosTokenId = bos
            }
        }
        return (family, config)
    }

    /// Loads the model strictly: every tensor the family needs must be present with the right shape,
    /// and every tensor in the checkpoint must be used (or be a known ignorable buffer).
    public static func load(directory: URL, source: TensorSource, precision: WeightPrecision = .f32,
                            backend: ComputeBackend = CPUBackend.shared) throws -> LanguageModel {
        let (family, config) = try readConfig(directory: directory)
        let model = try build(family: family, config: config, source: source, precision: precision, backend: backend,
                              configPath: directory.appendingPathComponent("config.json").path)
        model.directory = directory
        return model
    }

    /// Builds a model after checking `config` (`ConfigValidation`) and its layer count and embedding
    /// against `source`'s tensor names, before loading anything; every tensor's shape is checked
    /// before it is converted. `configPath` names the config in errors.
    public static func build(family: ModelFamily.Type, config: ModelConfig, source: TensorSource,
                             precision: WeightPrecision, backend: ComputeBackend = CPUBackend.shared,
                             configPath: String = "config.json") throws -> LanguageModel {
        try ConfigValidation.validate(config, path: configPath)
        try ConfigValidation.checkAgainstWeights(config, family: family, source: source, configPath: configPath)
        let w = WeightLoader(source: source, precision: precision, backend: backend)
        let d = config.hiddenSize
        let embedding = try w.matrix(family.embeddingName, rows: config.vocabSize, cols: d)
        var blocks: [BlockWeights] = []
        var missing: [String] = []
        for l in 0..<config.numLayers {
            let names = family.tensors(layer: l, config: config, has: w.contains)
            do { blocks.append(try BlockWeights(names, spec: config.blocks[l], d: d, weights: w)) } catch ModelError.missingTensors(_, let n) {
                missing += n
            }
        }
        if !w.contains(family.finalNormName) { missing.append(family.finalNormName) }
        let hasHead = w.contains(family.lmHeadName)
        if !config.tieWordEmbeddings && !hasHead { missing.append(family.lmHeadName) }
        if !missing.isEmpty { throw ModelError.missingTensors(folder: source.location, names: missing) }
        let finalNorm = try w.vector(family.finalNormName, count: d)
        var head: Weight?
        if hasHead {
            let h = try w.matrix(family.lmHeadName, rows: config.vocabSize, cols: d)
            // A tied checkpoint that also stores the head (some exporters do) keeps using the embedding.
            head = config.tieWordEmbeddings ? nil : h
        }
        let unexpected = w.unusedNames().filter { !family.isIgnorable($0) }
        if !unexpected.isEmpty { throw ModelError.unexpectedTensors(folder: source.location, names: unexpected) }
        return LanguageModel(config: config, family: family, backend: backend, embedding: embedding, lmHead: head,
                             finalNorm: finalNorm, blocks: blocks)
    }
}
