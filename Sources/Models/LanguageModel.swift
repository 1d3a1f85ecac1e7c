import Foundation
import TensorKit

/// Which positions of a forward pass get logits.
public enum LogitRequest: Sendable {
    case none
    /// The last position of every row.
    case last
    /// Every position of every row (`[batch × steps, vocab]`).
    case all
}

/// A loaded decoder-only transformer: the forward pass shared by every family, with hook points.
public final class LanguageModel {
    public let config: ModelConfig
    public let embedding: Matrix
    /// nil when the output head is tied to the embedding.
    public let lmHead: Matrix?
    public let finalNorm: [Float]
    public let layers: [LayerWeights]
    /// Where the model was loaded from, when it came from a folder.
    public var directory: URL?

    public init(config: ModelConfig, embedding: Matrix, lmHead: Matrix?, finalNorm: [Float], layers: [LayerWeights]) {
        self.config = config
        self.embedding = embedding
        self.lmHead = lmHead
        self.finalNorm = finalNorm
        self.layers = layers
    }

    public var outputHead: Matrix { lmHead ?? embedding }

    public func makeCache(batch: Int, capacity: Int = 64) -> KVCache {
        KVCache(batch: batch, layers: config.numLayers, kvHeads: config.numKVHeads, headDim: config.headDim,
                capacity: capacity)
    }

    /// Runs a batch of prompts of any lengths from an empty cache, left-padding shorter ones.
    /// Returns the cache (ready for generation) and the requested logits.
    public func prefill(_ prompts: [[Int]], hooks: Hooks? = nil, logits: LogitRequest = .last,
                        reserve: Int = 0) throws -> (cache: KVCache, logits: FloatBuffer?) {
        guard !prompts.isEmpty else { throw ModelError.badInput("no prompts given") }
        let longest = prompts.map(\.count).max() ?? 0
        guard let shortest = prompts.map(\.count).min(), shortest > 0 else { throw ModelError.badInput("empty prompt") }
        let cache = makeCache(batch: prompts.count, capacity: longest + reserve)
        var rows: [[Int]] = []
        for (b, p) in prompts.enumerated() {
            cache.firstValid[b] = longest - p.count
            cache.promptLengths[b] = p.count
            rows.append(Array(repeating: 0, count: longest - p.count) + p)
        }
        let out = try forward(rows, cache: cache, hooks: hooks, logits: logits)
        return (cache, out)
    }

    /// One forward pass of `tokens` (`batch` rows of equal length, continuing the cache).
    public func forward(_ tokens: [[Int]], cache: KVCache, hooks: Hooks? = nil,
                        logits: LogitRequest = .last) throws -> FloatBuffer? {
        let c = config
        let batch = tokens.count, steps = tokens.first?.count ?? 0
        guard batch == cache.batch, steps > 0, tokens.allSatisfy({ $0.count == steps }) else {
            throw ModelError.badInput("forward: expected \(cache.batch) rows of equal, non-zero length")
        }
        for row in tokens { try checkTokens(row) }
        let n = batch * steps, d = c.hiddenSize
        let layout = StepLayout(batch: batch, steps: steps, firstSlot: cache.length,
                                firstValid: cache.firstValid, promptLengths: cache.promptLengths)
        try checkSequenceLength(cache.length + steps)
        let activeHooks = (hooks?.isEmpty ?? true) ? nil : hooks
        cache.reserve(cache.length + steps)

        let x = FloatBuffer(count: n * d)
        embed(tokens.flatMap { $0 }, into: x.pointer)

        // RoPE tables for every (row, step).
        var positions = [Int](repeating: 0, count: n)
        for b in 0..<batch { for t in 0..<steps { positions[b * steps + t] = max(0, layout.position(row: b, step: t) ?? 0) } }
        let seqLen = (positions.max() ?? 0) + 1
        let (cosT, sinT) = c.rope.tables(positions: positions, sequenceLength: seqLen)

        let qkvWidth = c.qDim + 2 * c.kvDim, hd = c.headDim
        let scratch = BlockScratch(config: c, rows: n)
        for (l, w) in layers.enumerated() {
            let hook: BlockHook? = activeHooks.map { hooks in
                { point, data in hooks.run(point, layer: l, layout: layout, width: d, data: data) }
            }
            hook?(.residPre, x.pointer)
            attentionInput(w, x: x.pointer, n: n, scratch: scratch, cos: cosT.pointer, sin: sinT.pointer)
            let kc = cache.keys[l].pointer, vc = cache.values[l].pointer
            for b in 0..<batch {
                for t in 0..<steps {
                    let row = scratch.qkv.pointer + (b * steps + t) * qkvWidth
                    for g in 0..<c.numKVHeads {
                        let dst = ((b * c.numKVHeads + g) * cache.capacity + cache.length + t) * hd
                        (kc + dst).update(from: row + c.qDim + g * hd, count: hd)
                        (vc + dst).update(from: row + c.qDim + c.kvDim + g * hd, count: hd)
                    }
                }
            }
            let shape = Attention.Shape(batch: batch, queries: steps, heads: c.numHeads, kvHeads: c.numKVHeads,
                                        headDim: hd, past: cache.length, capacity: cache.capacity,
                                        scale: c.attentionScale, softcap: c.attentionSoftcap, window: c.slidingWindows[l])
            Attention.compute(shape: shape, q: scratch.qkv.pointer, qStride: qkvWidth, keys: kc, values: vc,
                              firstValid: cache.firstValid, out: scratch.attn.pointer)
            attentionOutput(w, x: x.pointer, n: n, scratch: scratch, hook: hook)
            mlpBlock(w, x: x.pointer, n: n, scratch: scratch, hook: hook)
        }
        cache.length += steps

        // Final norm and output head, only on the rows asked for.
        let picked: [Int]
        switch logits {
        case .none: return nil
        case .last: picked = (0..<batch).map { $0 * steps + steps - 1 }
        case .all: picked = Array(0..<n)
        }
        let sel = FloatBuffer(count: picked.count * d)
        for (i, r) in picked.enumerated() { (sel.pointer + i * d).update(from: x.pointer + r * d, count: d) }
        return headLogits(sel.pointer, n: picked.count)
    }
}
