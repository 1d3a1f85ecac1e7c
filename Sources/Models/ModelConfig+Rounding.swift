import Foundation
import Compute

extension ModelConfig {
    /// Lengths of the float32 reductions on the path from the embedding to one output of block
    /// `blocks − 1` (all blocks by default) at sequence length `tokens`: per block the RMSNorm sums of
    /// squares (four with sandwich norms), the q/k/v projections, q·k (and the q/k norms), the softmax
    /// sum and the weighted sum of values, the output projection, the gate/up and down projections (for
    /// routed experts also the router product, its softmax and the sum over the active experts);
    /// after the last block the final norm and the unembedding (`logits: true`).
    public func reductionLengths(tokens: Int, blocks: Int? = nil, logits: Bool = true) -> [Int] {
        let d = hiddenSize, t = max(tokens, 1)
        let n = min(max(blocks ?? numLayers, 0), numLayers)
        let perBlock = self.blocks.prefix(n).map { b -> Int in
            let a = b.attention
            let norms = ((b.preNorms ? 2 : 0) + (b.postAttentionNorm ? 1 : 0) + (b.postMLPNorm ? 1 : 0)) * d
            let qk: Int
            switch a.qkNorm { case .none: qk = 0; case .perHead: qk = a.headDim; case .whole: qk = a.qDim }
            let attention = d + a.headDim + qk + 2 * t + a.qDim
            // Routed experts add the router product and softmax and the sum of the k weighted expert outputs.
            let routing = b.mlp.experts.map { d + $0.experts + $0.active } ?? 0
            return norms + attention + d + b.mlp.width + routing
        }
        return perBlock + (logits ? [d, d] : [])
    }

    /// How far two float32 forward passes of the same tokens may be apart when they differ only in
    /// rounding (BLAS kernel, threads, batch shape or packing, the form of an equivalent intervention):
    /// `2 · M · u · √D`, with M the magnitude of the compared values (e.g. the largest |logit|), D the
    /// summed `reductionLengths` and `extra` further reductions on the path (e.g. a weight edit's
    /// projections). Each pass is within `RoundingBound.chain` of exact, relative to M; two passes
    /// differ by at most twice that. Assumes the terms of each sum are of the order of its result (no
    /// catastrophic cancellation) and that a pre-norm block passes relative errors through with gain
    /// about 1 — on the fixture models the measured differences are several times below the bound.
    public func roundingBound(magnitude: Double, tokens: Int, blocks: Int? = nil, logits: Bool = true,
                              extra: [Int] = []) -> Double {
        2 * magnitude * RoundingBound.chain(reductionLengths(tokens: tokens, blocks: blocks, logits: logits) + extra)
    }
}
