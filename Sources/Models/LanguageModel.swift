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
        for row in tokens {
            if let bad = row.first(where: { $0 < 0 || $0 >= c.vocabSize }) {
                throw ModelError.badInput("token id \(bad) is outside the vocabulary (0..<\(c.vocabSize))")
            }
        }
        let n = batch * steps, d = c.hiddenSize
        let layout = StepLayout(batch: batch, steps: steps, firstSlot: cache.length,
                                firstValid: cache.firstValid, promptLengths: cache.promptLengths)
        if let limit = c.maxSequenceLength, cache.length + steps > limit {
            throw ModelError.badInput("sequence of \(cache.length + steps) tokens is longer than this model's exact range (\(limit)); Qwen-1's dynamic NTK / log-n attention beyond it are not implemented")
        }
        let activeHooks = (hooks?.isEmpty ?? true) ? nil : hooks
        cache.reserve(cache.length + steps)

        // Embeddings (Gemma scales them by sqrt(d), rounded to Float32 as transformers does).
        let x = FloatBuffer(count: n * d)
        for b in 0..<batch {
            for t in 0..<steps { embedding.row(tokens[b][t], into: x.pointer + (b * steps + t) * d) }
        }
        if let s = c.embeddingScale { for i in 0..<(n * d) { x[i] *= s } }

        // RoPE tables for every (row, step).
        var positions = [Int](repeating: 0, count: n)
        for b in 0..<batch { for t in 0..<steps { positions[b * steps + t] = max(0, layout.position(row: b, step: t) ?? 0) } }
        let seqLen = (positions.max() ?? 0) + 1
        let (cosT, sinT) = c.rope.tables(positions: positions, sequenceLength: seqLen)
        let half = c.rope.rotaryDim / 2

        let qkvWidth = c.qDim + 2 * c.kvDim
        let h = FloatBuffer(count: n * d)
        let qkv = FloatBuffer(count: n * qkvWidth)
        let attn = FloatBuffer(count: n * c.qDim)
        let sub = FloatBuffer(count: n * d)
        let ffn = c.intermediateSize
        let gu = FloatBuffer(count: n * 2 * ffn)
        let act = FloatBuffer(count: n * ffn)

        for (l, w) in layers.enumerated() {
            activeHooks?.run(.residPre, layer: l, layout: layout, width: d, data: x.pointer)
            // Attention.
            rmsNorm(x.pointer, w.inputNorm, rows: n, width: d, out: h.pointer)
            w.qkv.apply(h.pointer, m: n, into: qkv.pointer, ldy: qkvWidth)
            addBias(w.qkvBias, to: qkv.pointer, m: n, ld: qkvWidth)
            let hd = c.headDim
            Parallel.forEach(n, cost: qkvWidth * 4) { r in
                let row = qkv.pointer + r * qkvWidth
                if let qn = w.qNorm, let kn = w.kNorm {
                    rmsNorm(row, qn, rows: c.numHeads, width: hd, out: row)
                    rmsNorm(row + c.qDim, kn, rows: c.numKVHeads, width: hd, out: row + c.qDim)
                }
                c.rope.apply(row, heads: c.numHeads, headDim: hd, cos: cosT.pointer + r * half, sin: sinT.pointer + r * half)
                c.rope.apply(row + c.qDim, heads: c.numKVHeads, headDim: hd,
                             cos: cosT.pointer + r * half, sin: sinT.pointer + r * half)
            }
            let kc = cache.keys[l].pointer, vc = cache.values[l].pointer
            for b in 0..<batch {
                for t in 0..<steps {
                    let row = qkv.pointer + (b * steps + t) * qkvWidth
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
            Attention.compute(shape: shape, q: qkv.pointer, qStride: qkvWidth, keys: kc, values: vc,
                              firstValid: cache.firstValid, out: attn.pointer)
            w.o.apply(attn.pointer, m: n, into: sub.pointer, ldy: d)
            addBias(w.oBias, to: sub.pointer, m: n, ld: d)
            activeHooks?.run(.attnProj, layer: l, layout: layout, width: d, data: sub.pointer)
            if let pn = w.postAttentionNorm { rmsNorm(sub.pointer, pn, rows: n, width: d, out: sub.pointer) }
            activeHooks?.run(.attnOut, layer: l, layout: layout, width: d, data: sub.pointer)
            Kernels.add(sub.pointer, into: x.pointer, n * d)
            activeHooks?.run(.residMid, layer: l, layout: layout, width: d, data: x.pointer)

            // MLP.
            rmsNorm(x.pointer, w.preMLPNorm, rows: n, width: d, out: h.pointer)
            w.gateUp.apply(h.pointer, m: n, into: gu.pointer, ldy: 2 * ffn)
            addBias(w.gateUpBias, to: gu.pointer, m: n, ld: 2 * ffn)
            Parallel.forEach(n, cost: ffn * 8) { r in
                Kernels.gatedActivation(c.activation, gate: gu.pointer + r * 2 * ffn, up: gu.pointer + r * 2 * ffn + ffn,
                                        out: act.pointer + r * ffn, n: ffn)
            }
            w.down.apply(act.pointer, m: n, into: sub.pointer, ldy: d)
            addBias(w.downBias, to: sub.pointer, m: n, ld: d)
            activeHooks?.run(.mlpProj, layer: l, layout: layout, width: d, data: sub.pointer)
            if let pn = w.postMLPNorm { rmsNorm(sub.pointer, pn, rows: n, width: d, out: sub.pointer) }
            activeHooks?.run(.mlpOut, layer: l, layout: layout, width: d, data: sub.pointer)
            Kernels.add(sub.pointer, into: x.pointer, n * d)
            activeHooks?.run(.residPost, layer: l, layout: layout, width: d, data: x.pointer)
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
        rmsNorm(sel.pointer, finalNorm, rows: picked.count, width: d, out: sel.pointer)
        let out = FloatBuffer(count: picked.count * c.vocabSize)
        outputHead.apply(sel.pointer, m: picked.count, into: out.pointer, ldy: c.vocabSize)
        if let cap = c.finalLogitSoftcap { Kernels.softcap(out.pointer, out.count, cap: cap) }
        return out
    }

    private func rmsNorm(_ x: UnsafePointer<Float>, _ w: [Float], rows: Int, width: Int, out: UnsafeMutablePointer<Float>) {
        w.withUnsafeBufferPointer { wp in
            Kernels.rmsNorm(x, weight: wp.baseAddress!, weightOffset: config.normWeightOffset, eps: config.normEps,
                            rows: rows, d: width, out: out)
        }
    }
}
