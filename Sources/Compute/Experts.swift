import Foundation

/// How a mixture-of-experts router turns its logits into the experts a row uses and their weights.
public enum ExpertRouting: Sendable, Equatable {
    /// Softmax over every expert's logit, the `k` largest probabilities, divided by their sum when
    /// `normalize` (Qwen3-MoE with `norm_topk_prob`, Mixtral always).
    case softmaxTopK(normalize: Bool)
    /// The `k` largest logits, softmax over those `k` only (gpt-oss).
    case topKSoftmax
}

/// What one routed-experts call needs besides its weights: `experts` experts of intermediate width
/// `width`, `active` of them per row.
public struct ExpertsSpec: Sendable, Equatable {
    public var experts: Int
    /// Experts per row (`num_experts_per_tok`).
    public var active: Int
    /// Intermediate width of one expert (`moe_intermediate_size`, or `intermediate_size` for Mixtral and gpt-oss).
    public var width: Int
    public var activation: MLPActivation
    public var routing: ExpertRouting

    public init(experts: Int, active: Int, width: Int, activation: MLPActivation, routing: ExpertRouting) {
        self.experts = experts; self.active = active; self.width = width; self.activation = activation; self.routing = routing
    }
}

/// The weights of a routed-experts block in a backend.
///
/// Expert `e` computes `down_e(act(gate_e(x)) · up_e(x)) (+ biases)`; `gateUp[e]` lists the parts that
/// produce its `[gate | up]` row (one `[2·width, d]` weight, or `[width, d]` gate and up weights).
public struct ExpertWeights {
    /// `[experts, d]`.
    public var router: Weight
    /// `1 × experts`, added to the router logits (gpt-oss).
    public var routerBias: Weight?
    /// Per expert, the parts of its `[gate | up]` projection in output order.
    public var gateUp: [[Weight]]
    /// `[experts, 2·width]` (Float32): row `e` is expert `e`'s `[gate | up]` bias.
    public var gateUpBias: Weight?
    /// Per expert, `[d, width]`.
    public var down: [Weight]
    /// `[experts, d]` (Float32): row `e` is expert `e`'s down-projection bias.
    public var downBias: Weight?

    public init(router: Weight, routerBias: Weight?, gateUp: [[Weight]], gateUpBias: Weight?, down: [Weight], downBias: Weight?) {
        self.router = router; self.routerBias = routerBias; self.gateUp = gateUp; self.gateUpBias = gateUpBias
        self.down = down; self.downBias = downBias
    }
}

/// The routing decision of one row: the experts it uses (in the order the router ranked them) and their weights.
public struct ExpertChoice: Sendable, Equatable {
    public var experts: [Int]
    public var weights: [Float]
}

extension ExpertRouting {
    /// The experts and weights of one row from its router logits, in Float32 as transformers computes them:
    /// softmax (max-subtracted, `exp`, divided by the sum), the `k` largest (ties to the lower index), the
    /// renormalisation by their sum; or the `k` largest logits and a softmax over them.
    public func choose(_ logits: UnsafePointer<Float>, experts n: Int, k: Int) -> ExpertChoice {
        switch self {
        case .softmaxTopK(let normalize):
            var probs = [Float](repeating: 0, count: n)
            Self.softmax(logits, n, into: &probs)
            let top = Self.largest(probs, k)
            var w = top.map { probs[$0] }
            if normalize {
                let sum = w.reduce(0, +)
                w = w.map { $0 / sum }
            }
            return ExpertChoice(experts: top, weights: w)
        case .topKSoftmax:
            let values = Array(UnsafeBufferPointer(start: logits, count: n))
            let top = Self.largest(values, k)
            var w = [Float](repeating: 0, count: k)
            top.map { values[$0] }.withUnsafeBufferPointer { Self.softmax($0.baseAddress!, k, into: &w) }
            return ExpertChoice(experts: top, weights: w)
        }
    }

    /// Indices of the `k` largest values, largest first (equal values: lower index first; NaN never chosen over a number).
    static func largest(_ v: [Float], _ k: Int) -> [Int] {
        var chosen: [Int] = []
        chosen.reserveCapacity(k)
        var taken = [Bool](repeating: false, count: v.count)
        for _ in 0..<min(k, v.count) {
            var best = -1
            for i in 0..<v.count where !taken[i] {
                if best < 0 || v[i] > v[best] || (v[best].isNaN && !v[i].isNaN) { best = i }
            }
            taken[best] = true
            chosen.append(best)
        }
        return chosen
    }

    static func softmax(_ x: UnsafePointer<Float>, _ n: Int, into out: inout [Float]) {
        var m = -Float.infinity
        for i in 0..<n where x[i] > m { m = x[i] }
        var sum: Float = 0
        for i in 0..<n { out[i] = expf(x[i] - m); sum += out[i] }
        for i in 0..<n { out[i] /= sum }
    }
}
