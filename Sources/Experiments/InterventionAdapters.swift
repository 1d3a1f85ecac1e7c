import Foundation
import Models

/// The two interventions the refusal method uses, as hook sets (SPEC §3.5, §3.6).
enum Steering {
    /// Directional ablation of unit `direction` at resid_pre, attn_out and mlp_out of `layers` (all when nil).
    static func ablation(_ direction: [Float], layers: [Int]? = nil, into hooks: Hooks = Hooks()) -> Hooks {
        let unit = normalized(direction)
        for point in [HookPoint.residPre, .attnOut, .mlpOut] {
            hooks.add(point, layers: layers) { act in
                for b in 0..<act.layout.batch {
                    for t in 0..<act.layout.steps {
                        let v = act.vector(row: b, step: t)
                        var dot: Float = 0
                        for i in 0..<v.count { dot += v[i] * unit[i] }
                        for i in 0..<v.count { v[i] -= dot * unit[i] }
                    }
                }
            }
        }
        return hooks
    }

    /// `x ← x + scale·vector` at resid_pre of `layer`, every position.
    static func addition(_ vector: [Float], layer: Int, scale: Float, into hooks: Hooks = Hooks()) -> Hooks {
        hooks.add(.residPre, layers: [layer]) { act in
            for b in 0..<act.layout.batch {
                for t in 0..<act.layout.steps {
                    let v = act.vector(row: b, step: t)
                    for i in 0..<v.count { v[i] += scale * vector[i] }
                }
            }
        }
        return hooks
    }

    static func normalized(_ v: [Float]) -> [Float] {
        let n = v.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
        return n > 0 ? v.map { Float(Double($0) / n) } : v
    }
}
