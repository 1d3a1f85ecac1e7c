import Foundation
import Models
import Compute

/// One input kind: how case `index` is generated from the seeds, and what it is run through.
/// `make` must be deterministic in `rng`; `run` runs in the worker process on the case's folder
/// and either returns (success) or throws (a clean error). Anything else is a finding.
protocol FuzzTarget {
    static func make(_ c: inout FuzzCase, rng: inout FuzzRandom, seeds: FuzzSeeds)
    static func run(_ c: FuzzCase, folder: URL) throws
}

/// Generating and running cases of any kind.
public enum FuzzTargets {
    static func target(_ kind: FuzzKind) -> FuzzTarget.Type {
        switch kind {
        case .config: return ConfigFuzzer.self
        case .safetensors: return SafeTensorsFuzzer.self
        case .tokenizer: return TokenizerFuzzer.self
        case .template: return TemplateFuzzer.self
        case .gguf: return GGUFFuzzer.self
        case .prompts: return PromptFuzzer.self
        case .selfcheck: return SelfCheckTarget.self
        }
    }

    /// Case `index` of `kind` for run seed `seed` (the same three numbers give the same case).
    public static func make(kind: FuzzKind, seed: UInt64, index: Int, seeds: FuzzSeeds) -> FuzzCase {
        var c = FuzzCase(kind: kind, seed: seed, index: index)
        var rng = FuzzRandom(seed: seed, kind: kind, index: index)
        target(kind).make(&c, rng: &rng, seeds: seeds)
        return c
    }

    /// Creates the case in a fresh `folder` and runs it in this process.
    public static func run(_ c: FuzzCase, folder: URL, fixtures: URL) throws {
        try c.materialize(in: folder, fixtures: fixtures)
        try target(c.kind).run(c, folder: folder)
    }
}

/// Puts a special file (FIFO, folder, device link) or nothing in place of `name`, with probability `p`.
func maybeSpecial(_ c: inout FuzzCase, _ name: String, p: Double, rng: inout FuzzRandom) {
    guard rng.chance(p) else { return }
    switch rng.below(5) {
    case 0: c.files[name] = .fifo
    case 1: c.files[name] = .directory
    case 2: c.files[name] = .symlink("/dev/zero")
    case 3: c.files[name] = .symlink("/dev/null")
    default: c.files[name] = nil
    }
}

/// What every loaded model is put through: a batch prefill with all logits, a decode step on the
/// cache, a packed pass with a shared prefix, and a few greedy tokens — each layout the commands
/// use, on a handful of token ids inside the vocabulary.
enum ModelExercise {
    static func run(_ model: LanguageModel) throws {
        let v = model.config.vocabSize
        func id(_ i: Int) -> Int { i % v }
        let (cache, _) = try model.prefill([[id(1), id(2), id(3), id(4)], [id(5), id(6)]], logits: .all, reserve: 2)
        _ = try model.step([id(7), id(8)], sequences: [0, 1], cache: cache)
        _ = try model.forwardPacked([PackedGroup(prefix: [id(1), id(2)], rows: [[id(3), id(4)], [id(9)]])])
        _ = try model.generate([[id(10), id(11)]], options: GenerationOptions(maxNewTokens: 3))
    }
}
