import Foundation
import Models
import Compute

/// Directional ablation (SPEC §3.5): `x ← x − (x·r̂) r̂` on the residual stream and on what every
/// sublayer writes into it, at every position of every row, prompt and generated tokens alike.
///
/// `Placement.residual` is the published method: `resid_pre`, `attn_out` and `mlp_out` of the
/// chosen layers, all with `r̂`.
///
/// `Placement.beforePostNorms` is what a weight edit (`WeightOrthogonalizer`) does to a model with
/// post-sublayer ("sandwich") norms such as Gemma-2: the sublayer outputs are ablated *before* the
/// post-norm (`attnProj`, `mlpProj`) against `û = normalize((o + w) ⊙ r̂)`, where `w` is the
/// following post-norm's weight and `o` the family's norm offset (1 for Gemma). Since the norm
/// scales each channel by `(o + w) / rms`, an input orthogonal to `û` leaves the norm orthogonal to
/// `r̂`, so this also removes `r̂` from the stream (the norm's rms differs from `residual`'s, so the
/// two are not numerically equal on such models). On models without post norms both placements are
/// the same. `resid_pre` is ablated with `r̂` in both.
public struct DirectionalAblation: Intervention {
    public enum Placement: String, Sendable {
        case residual
        case beforePostNorms
    }

    /// `r̂`, the unit direction.
    public let unit: [Float]
    /// Layers whose hook points are ablated (nil = all).
    public var layers: [Int]?
    public var placement: Placement
    /// Whether `resid_pre` of the chosen layers is ablated too (the published method does; a weight
    /// edit restricted to layers that do not include 0 cannot, see `WeightOrthogonalizer`).
    public var ablatesResidPre: Bool
    /// Per-layer strengths (the fraction of the component removed); nil = 1 at every chosen layer.
    /// Layers of strength 0 get no hook.
    public var weighting: LayerWeighting?

    /// `direction` need not be normalised; a zero vector is refused.
    public init(direction: [Float], layers: [Int]? = nil, placement: Placement = .residual,
                ablatesResidPre: Bool = true) throws {
        unit = try VectorMath.unit(direction, what: "the ablation direction")
        self.layers = layers
        self.placement = placement
        self.ablatesResidPre = ablatesResidPre
    }

    /// The hook ablation that a weight export with the same direction and layer selection equals
    /// (to float tolerance): `beforePostNorms`, with `resid_pre` only when the embedding is edited
    /// (all layers, or a selection containing layer 0).
    /// With a `weighting` the embedding is never edited (as in heretic), so `resid_pre` is not ablated.
    public static func matchingWeightEdit(direction: [Float], layers: [Int]? = nil,
                                          weighting: LayerWeighting? = nil) throws -> DirectionalAblation {
        let withEmbedding = weighting == nil && (layers.map { $0.contains(0) } ?? true)
        var a = try DirectionalAblation(direction: direction, layers: layers, placement: .beforePostNorms,
                                        ablatesResidPre: withEmbedding)
        a.weighting = weighting
        return a
    }

    /// The per-layer unit vectors used before the post-attention and post-MLP norms of layer `l`
    /// (`r̂` itself when the layer has no such norm): `Orthogonalize.throughNorm`, the rule the weight
    /// edit uses.
    public static func preNormUnits(_ unit: [Float], block: BlockWeights, offset: Float) throws -> (attn: [Float], mlp: [Float]) {
        let u = unit.map(Double.init)
        func scaled(_ w: [Float]?) throws -> [Float] {
            guard let w else { return unit }
            return try Orthogonalize.throughNorm(u, weight: w, offset: offset).map { Float($0) }
        }
        return (try scaled(block.postAttentionNormValues), try scaled(block.postMLPNormValues))
    }

    /// One place the ablation acts: a hook point of a layer, the unit removed there and how much of it.
    struct Site {
        var point: HookPoint
        var layer: Int
        var unit: [Float]
        var strength: Float
    }

    /// Every place this ablation acts on `model`, after checking it fits.
    func sites(for model: LanguageModel) throws -> [Site] {
        try ModelCheck.length(unit, "the ablation direction", model)
        let all = layers ?? Array(0..<model.config.numLayers)
        try ModelCheck.layers(all, "ablation layers", model)
        var out: [Site] = []
        for l in all {
            let s = Float(weighting?.strength(l) ?? 1)
            if s == 0 { continue }
            if ablatesResidPre { out.append(Site(point: .residPre, layer: l, unit: unit, strength: s)) }
            switch placement {
            case .residual:
                out.append(Site(point: .attnOut, layer: l, unit: unit, strength: s))
                out.append(Site(point: .mlpOut, layer: l, unit: unit, strength: s))
            case .beforePostNorms:
                let (ua, um) = try Self.preNormUnits(unit, block: model.blocks[l], offset: model.config.normWeightOffset)
                out.append(Site(point: .attnProj, layer: l, unit: ua, strength: s))
                out.append(Site(point: .mlpProj, layer: l, unit: um, strength: s))
            }
        }
        return out
    }

    public func edits(for model: LanguageModel) throws -> [ActivationEdit] {
        try sites(for: model).map {
            ActivationEdit(point: $0.point, layers: [$0.layer], op: .projectOut(unit: $0.unit, strength: $0.strength))
        }
    }
}
