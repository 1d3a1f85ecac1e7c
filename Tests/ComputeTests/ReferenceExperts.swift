import Compute
import Foundation

/// The Float64 reference of routed experts (`ComputeBackend.experts`) and the error a correct Float32
/// backend may make, derived operation by operation (see `ReferenceOps` for the constants).
enum ReferenceExperts {
    static let u = Float32Error.u
    static func gamma(_ n: Int) -> Double { Float32Error.gamma(n) }
    /// `max |d/dy (y·σ(y))|` (≈ 1.0998): how far SiLU, and the clamped SwiGLU's `g·σ(αg)` as a function
    /// of `g`, move when their input moves (clamping is 1-Lipschitz).
    static let siluSlope = 1.1

    /// Host copies of `ExpertWeights`: per expert a `[2·width, d]` `[gate | up]` and a `[d, width]` down
    /// projection; biases `[experts, n]`.
    struct Weights {
        var router: Grid
        var routerBias: Grid?
        var gateUp: [Grid]
        var gateUpBias: Grid?
        var down: [Grid]
        var downBias: Grid?
    }

    /// `out[r]` = Σ over the row's chosen experts (by `spec.routing`) of weight · expert output.
    ///
    /// Bounds: a router logit errs by E ≤ γ_{d+1}·(Σ|x·w| + |b|); the test inputs keep the k-th and
    /// (k+1)-th logits more than 2E apart (checked here), so the backend picks the same experts. A softmax
    /// probability then errs by ρ ≤ 2·(E + 2u·spread + 4u) + γ_{2n+4} relative, as in attention (n
    /// logits); renormalising by the top-k sum doubles that and adds γ_{k+2}. An expert's `[gate | up]`
    /// errs by δh ≤ γ_{d+1}·(Σ|x·w| + |b|); its activation `act(g)·up` by ≤ 1.1·δg·|up'| + |g'|·δup +
    /// 1.1·δg·δup plus its own rounding (`ReferenceOps.gatedActivation`, with |a| + 2 for the clamped
    /// form's extra `up + 1`), with g', up' the clamped values; the down projection adds
    /// γ_{f+1}·(Σ|w·a| + |b|) to Σ|w|·δa; the routing weight multiplies in ρ_w and one rounding; the k
    /// weighted outputs are summed (γ_k of their magnitudes).
    /// Returns the rows whose routing is too close to a tie to be checked (the test's inputs must avoid them).
    static func experts(_ x: Grid, rows: Range<Int>, weights w: Weights, spec s: ExpertsSpec, out: inout Grid) -> [Int] {
        let d = w.router.cols, k = s.active
        var ties: [Int] = []
        for r in rows {
            var logits: [Double] = [], logitError = 0.0
            for e in 0..<s.experts {
                var sum = w.routerBias?[0, e] ?? 0, magnitude = abs(sum)
                for c in 0..<d { let t = x[r, c] * w.router[e, c]; sum += t; magnitude += abs(t) }
                logits.append(sum); logitError = max(logitError, gamma(d + 1) * magnitude)
            }
            let order = logits.indices.sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
            if k < s.experts, logits[order[k - 1]] - logits[order[k]] <= 2 * logitError { ties.append(r) }
            let chosen = Array(order.prefix(k))
            var weights: [Double], rho: Double
            switch s.routing {
            case .softmaxTopK(let normalize):
                let (p, error) = softmax(logits, error: logitError)
                weights = chosen.map { p[$0] }; rho = error
                if normalize {
                    let total = weights.reduce(0, +)
                    weights = weights.map { $0 / total }; rho = 2 * rho + gamma(k + 2)
                }
            case .topKSoftmax:
                (weights, rho) = softmax(chosen.map { logits[$0] }, error: logitError)
            }
            var values = [Double](repeating: 0, count: d), errors = values, magnitudes = values
            for (j, e) in chosen.enumerated() {
                let (y, dy) = expert(x, row: r, expert: e, weights: w, spec: s)
                for c in 0..<d {
                    let t = weights[j] * y[c]
                    values[c] += t; magnitudes[c] += abs(t) + dy[c]
                    errors[c] += abs(weights[j]) * dy[c] * (1 + rho) + (rho + u) * abs(t)
                }
            }
            for c in 0..<d { out.set(r, c, values[c], bound: errors[c] + gamma(k) * magnitudes[c]) }
        }
        return ties
    }

    /// Softmax of `z` (each entry off by ≤ `error`) and the relative error of its entries.
    static func softmax(_ z: [Double], error: Double) -> ([Double], Double) {
        let top = z.max() ?? 0, e = z.map { exp($0 - top) }, total = e.reduce(0, +)
        let spread = z.map { top - $0 }.max() ?? 0
        return (e.map { $0 / total }, 2 * (error + 2 * u * spread + 4 * u) + gamma(2 * z.count + 4))
    }

    /// One expert's output on row `r` and its error bound per column.
    static func expert(_ x: Grid, row r: Int, expert e: Int, weights w: Weights, spec s: ExpertsSpec) -> ([Double], [Double]) {
        let d = w.router.cols, f = s.width
        var h = [Double](repeating: 0, count: 2 * f), dh = h
        for o in 0..<(2 * f) {
            var sum = w.gateUpBias?[e, o] ?? 0, magnitude = abs(sum)
            for c in 0..<d { let t = x[r, c] * w.gateUp[e][o, c]; sum += t; magnitude += abs(t) }
            h[o] = sum; dh[o] = gamma(d + 1) * magnitude
        }
        var a = [Double](repeating: 0, count: f), da = a
        for i in 0..<f {
            var g = h[i], up = h[f + i], argument = g, rounded = 0.0, extra = 1.0
            if case let .clampedSwiGLU(alpha, limit) = s.activation {
                let l = Double(limit)
                g = min(g, l); up = min(max(up, -l), l) + 1
                argument = Double(alpha) * g; rounded = abs(argument); extra = 2
            }
            a[i] = g / (1 + exp(-argument)) * up
            da[i] = siluSlope * dh[i] * abs(up) + abs(g) * dh[f + i] + siluSlope * dh[i] * dh[f + i]
                + (rounded + extra) * 8 * u * abs(g * up)
        }
        var y = [Double](repeating: 0, count: d), dy = y
        for c in 0..<d {
            var sum = w.downBias?[e, c] ?? 0, magnitude = abs(sum), propagated = 0.0
            for i in 0..<f {
                let t = w.down[e][c, i] * a[i]
                sum += t; magnitude += abs(t); propagated += abs(w.down[e][c, i]) * da[i]
            }
            y[c] = sum; dy[c] = gamma(f + 1) * magnitude + propagated * (1 + gamma(f + 1))
        }
        return (y, dy)
    }
}
