import Foundation
import Interventions
import Models

/// The two interventions the refusal method uses (SPEC §3.5, §3.6), as hook sets for a model.
enum Steering {
    /// Directional ablation at resid_pre, attn_out and mlp_out of `layers` (all when nil).
    static func ablation(_ direction: [Float], layers: [Int]? = nil, model: LanguageModel) throws -> [ActivationEdit] {
        try DirectionalAblation(direction: direction, layers: layers).edits(for: model)
    }

    /// `x ← x + scale·vector` at resid_pre of `layer`, every position.
    static func addition(_ vector: [Float], layer: Int, scale: Float, model: LanguageModel) throws -> [ActivationEdit] {
        try ActivationAddition(vector: vector, layer: layer, scale: scale).edits(for: model)
    }
}
