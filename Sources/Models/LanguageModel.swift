import Foundation
import Compute

/// Which positions of a prefill get logits.
public enum LogitRequest: Sendable {
    case none
    /// The last position of every prompt.
    case last
    /// Every position of every prompt, prompt after prompt (`[Σ lengths, vocab]`, no padding).
    case all
}

/// A loaded decoder-only transformer: its declared architecture, its weights in a compute backend,
/// and the forward pass shared by every family.
public final class LanguageModel {
    public let config: ModelConfig
    public let family: ModelFamily.Type
    public let backend: ComputeBackend
    public let embedding: Weight
    /// nil when the output head is tied to the embedding.
    public let lmHead: Weight?
    public let finalNorm: Weight
    public let blocks: [BlockWeights]
    /// Where the model was loaded from, when it came from a folder.
    public var directory: URL?

    public init(config: ModelConfig, family: ModelFamily.Type, backend: ComputeBackend, embedding: Weight, lmHead: Weight?,
                finalNorm: Weight, blocks: [BlockWeights]) {
        self.config = config; self.family = family; self.backend = backend
        self.embedding = embedding; self.lmHead = lmHead; self.finalNorm = finalNorm; self.blocks = blocks
    }

    public var outputHead: Weight { lmHead ?? embedding }

    /// A generation cache for `batch` sequences of up to `capacity` tokens (grown when needed).
    public func makeCache(batch: Int, capacity: Int = 64) -> KVCache {
        KVCache(backend: backend, batch: batch, layers: config.numLayers,
                kvDim: config.blocks.map(\.attention.kvDim).max() ?? 0, capacity: capacity)
    }

    /// Edits prepared for this model's backend.
    public func prepare(_ edits: [ActivationEdit]) throws -> PreparedEdits {
        try PreparedEdits(edits, config: config, backend: backend)
    }

    /// Runs a batch of prompts of any lengths (no padding) into a new cache, with `edits` at every
    /// block; returns the cache (ready for generation) and the requested logits.
    public func prefill(_ prompts: [[Int]], edits: [ActivationEdit] = [], logits: LogitRequest = .last,
                        reserve: Int = 0) throws -> (cache: KVCache, logits: FloatBuffer?) {
        try prefill(prompts, prepared: edits.isEmpty ? nil : prepare(edits), logits: logits, reserve: reserve)
    }

    /// `prefill` with callback hooks (the host escape hatch).
    public func prefill(_ prompts: [[Int]], hooks: Hooks?, logits: LogitRequest = .last,
                        reserve: Int = 0) throws -> (cache: KVCache, logits: FloatBuffer?) {
        try prefill(prompts, edits: hooks?.edits ?? [], logits: logits, reserve: reserve)
    }

    func prefill(_ prompts: [[Int]], prepared: PreparedEdits?, logits: LogitRequest, reserve: Int,
                 workspace: Workspace? = nil) throws -> (cache: KVCache, logits: FloatBuffer?) {
        guard !prompts.isEmpty else { throw ModelError.badInput("no prompts given") }
        guard prompts.allSatisfy({ !$0.isEmpty }) else { throw ModelError.badInput("empty prompt") }
        let longest = prompts.map(\.count).max() ?? 0
        let cache = makeCache(batch: prompts.count, capacity: longest + reserve)
        var input = ForwardInput.prompts(prompts, bases: prompts.indices.map(cache.base), allLogits: logits == .all)
        if logits == .none { input.logitRows = [] }
        let out = try forward(input, kv: cache.store, edits: prepared, workspace: workspace)
        cache.lengths = prompts.map(\.count)
        cache.promptLengths = cache.lengths
        return (cache, out)
    }

    /// One decode step: `tokens[i]` appended to sequence `sequences[i]` of `cache`; returns their
    /// next-token logits in that order.
    public func step(_ tokens: [Int], sequences: [Int], cache: KVCache, edits: PreparedEdits? = nil,
                     workspace: Workspace? = nil) throws -> FloatBuffer? {
        guard tokens.count == sequences.count, !tokens.isEmpty,
              sequences.allSatisfy({ (0..<cache.batch).contains($0) }), Set(sequences).count == sequences.count else {
            throw ModelError.badInput("step: one token per distinct sequence of the cache")
        }
        cache.reserve((sequences.map { cache.lengths[$0] }.max() ?? 0) + 1)
        let out = try forward(cache.step(tokens, sequences: sequences), kv: cache.store, edits: edits, workspace: workspace)
        for s in sequences { cache.lengths[s] += 1 }
        return out
    }
}
