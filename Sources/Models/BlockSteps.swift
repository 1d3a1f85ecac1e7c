import Foundation
import TensorKit

/// Scratch buffers for the activations of a decoder block over up to `rows` token rows.
final class BlockScratch {
    let rows: Int
    let h: FloatBuffer, qkv: FloatBuffer, attn: FloatBuffer, sub: FloatBuffer, gu: FloatBuffer, act: FloatBuffer

    /// Every buffer is written before it is read, so none is zero-filled.
    init(config c: ModelConfig, rows: Int) {
        self.rows = rows
        h = FloatBuffer(uninitializedCount: rows * c.hiddenSize)
        qkv = FloatBuffer(uninitializedCount: rows * (c.qDim + 2 * c.kvDim))
        attn = FloatBuffer(uninitializedCount: rows * c.qDim)
        sub = FloatBuffer(uninitializedCount: rows * c.hiddenSize)
        gu = FloatBuffer(uninitializedCount: rows * 2 * c.intermediateSize)
        act = FloatBuffer(uninitializedCount: rows * c.intermediateSize)
    }
}

/// The parts of a decoder block that every forward pass shares; only the attention core differs
/// (a left-padded KV cache in `forward`, packed sequences in `forwardPacked`).
/// `hook(point, data)` runs the hook functions of this layer on the `n` rows at `data`.
extension LanguageModel {
    typealias BlockHook = (HookPoint, UnsafeMutablePointer<Float>) -> Void

    /// Input norm, q/k/v projections (+ biases), Qwen-3 q/k norms and RoPE of `n` rows of `x` into `s.qkv`.
    /// `cos`/`sin` hold one table row per token row.
    func attentionInput(_ w: LayerWeights, x: UnsafePointer<Float>, n: Int, scratch s: BlockScratch,
                        cos: UnsafePointer<Float>, sin: UnsafePointer<Float>) {
        let c = config, d = c.hiddenSize, qkvWidth = c.qDim + 2 * c.kvDim, hd = c.headDim
        let half = c.rope.rotaryDim / 2
        rmsNorm(x, w.inputNorm, rows: n, width: d, out: s.h.pointer)
        w.qkv.apply(s.h.pointer, m: n, into: s.qkv.pointer, ldy: qkvWidth)
        addBias(w.qkvBias, to: s.qkv.pointer, m: n, ld: qkvWidth)
        let qkv = s.qkv.pointer
        Parallel.forEach(n, cost: qkvWidth * 4) { r in
            let row = qkv + r * qkvWidth
            if let qn = w.qNorm, let kn = w.kNorm {
                rmsNorm(row, qn, rows: c.numHeads, width: hd, out: row)
                rmsNorm(row + c.qDim, kn, rows: c.numKVHeads, width: hd, out: row + c.qDim)
            }
            c.rope.apply(row, heads: c.numHeads, headDim: hd, cos: cos + r * half, sin: sin + r * half)
            c.rope.apply(row + c.qDim, heads: c.numKVHeads, headDim: hd, cos: cos + r * half, sin: sin + r * half)
        }
    }

    /// Output projection of `n` attention rows in `s.attn`, Gemma-2's post-norm, and the residual add into `x`.
    func attentionOutput(_ w: LayerWeights, x: UnsafeMutablePointer<Float>, n: Int, scratch s: BlockScratch,
                         hook: BlockHook?) {
        writeBack(w.o, bias: w.oBias, postNorm: w.postAttentionNorm, input: s.attn.pointer, x: x, n: n, scratch: s,
                  hook: hook, points: (.attnProj, .attnOut, .residMid))
    }

    /// The MLP of `n` rows of `x` and its residual add.
    func mlpBlock(_ w: LayerWeights, x: UnsafeMutablePointer<Float>, n: Int, scratch s: BlockScratch, hook: BlockHook?) {
        let c = config, d = c.hiddenSize, ffn = c.intermediateSize
        rmsNorm(x, w.preMLPNorm, rows: n, width: d, out: s.h.pointer)
        w.gateUp.apply(s.h.pointer, m: n, into: s.gu.pointer, ldy: 2 * ffn)
        addBias(w.gateUpBias, to: s.gu.pointer, m: n, ld: 2 * ffn)
        let gu = s.gu.pointer, act = s.act.pointer
        Parallel.forEach(n, cost: ffn * 8) { r in
            Kernels.gatedActivation(c.activation, gate: gu + r * 2 * ffn, up: gu + r * 2 * ffn + ffn, out: act + r * ffn, n: ffn)
        }
        writeBack(w.down, bias: w.downBias, postNorm: w.postMLPNorm, input: act, x: x, n: n, scratch: s,
                  hook: hook, points: (.mlpProj, .mlpOut, .residPost))
    }

    /// What a sublayer writes into the stream: its output projection (+ bias), hooks before and after
    /// Gemma-2's post-norm, the residual add, and the hook on the stream.
    private func writeBack(_ proj: Matrix, bias: [Float]?, postNorm: [Float]?, input: UnsafePointer<Float>,
                           x: UnsafeMutablePointer<Float>, n: Int, scratch s: BlockScratch, hook: BlockHook?,
                           points: (proj: HookPoint, out: HookPoint, resid: HookPoint)) {
        let d = config.hiddenSize
        proj.apply(input, m: n, into: s.sub.pointer, ldy: d)
        addBias(bias, to: s.sub.pointer, m: n, ld: d)
        hook?(points.proj, s.sub.pointer)
        if let pn = postNorm { rmsNorm(s.sub.pointer, pn, rows: n, width: d, out: s.sub.pointer) }
        hook?(points.out, s.sub.pointer)
        Kernels.add(s.sub.pointer, into: x, n * d)
        hook?(points.resid, x)
    }

    /// Final norm and output head (with Gemma-2's soft-capping) of `n` rows, which are normalised in place.
    func headLogits(_ rows: UnsafeMutablePointer<Float>, n: Int) -> FloatBuffer {
        let c = config
        rmsNorm(rows, finalNorm, rows: n, width: c.hiddenSize, out: rows)
        let out = FloatBuffer(count: n * c.vocabSize)
        outputHead.apply(rows, m: n, into: out.pointer, ldy: c.vocabSize)
        if let cap = c.finalLogitSoftcap { Kernels.softcap(out.pointer, out.count, cap: cap) }
        return out
    }

    /// Embeddings of `tokens` into consecutive rows of `x` (Gemma scales them by sqrt(d), rounded to
    /// Float32 as transformers does).
    func embed(_ tokens: [Int], into x: UnsafeMutablePointer<Float>) {
        let d = config.hiddenSize
        for (i, t) in tokens.enumerated() { embedding.row(t, into: x + i * d) }
        if let s = config.embeddingScale { for i in 0..<(tokens.count * d) { x[i] *= s } }
    }

    func rmsNorm(_ x: UnsafePointer<Float>, _ w: [Float], rows: Int, width: Int, out: UnsafeMutablePointer<Float>) {
        w.withUnsafeBufferPointer { wp in
            Kernels.rmsNorm(x, weight: wp.baseAddress!, weightOffset: config.normWeightOffset, eps: config.normEps,
                            rows: rows, d: width, out: out)
        }
    }

    /// Refuses sequences longer than the range this model computes exactly (Qwen-1's `seq_length`).
    func checkSequenceLength(_ tokens: Int) throws {
        if let limit = config.maxSequenceLength, tokens > limit {
            throw ModelError.badInput("sequence of \(tokens) tokens is longer than this model's exact range (\(limit)); Qwen-1's dynamic NTK / log-n attention beyond it are not implemented")
        }
    }

    /// Checks token ids against the vocabulary.
    func checkTokens<S: Sequence>(_ ids: S) throws where S.Element == Int {
        if let bad = ids.first(where: { $0 < 0 || $0 >= config.vocabSize }) {
            throw ModelError.badInput("token id \(bad) is outside the vocabulary (0..<\(config.vocabSize))")
        }
    }
}
