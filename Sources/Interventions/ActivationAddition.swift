import Foundation
import ModelFormats
import Models

/// Activation addition (SPEC §3.6): `x ← x + c·r` at one hook point of one layer (by default
/// `resid_pre[l]`), every position of every row, prompt and generated tokens alike. `r` is used as
/// given (not normalised): with `c = 1` a difference-of-means direction moves harmless activations
/// to the harmful mean.
public struct ActivationAddition: Intervention {
    public var vector: [Float]
    public var layer: Int
    public var scale: Float
    public var point: HookPoint

    public init(vector: [Float], layer: Int, scale: Float = 1, point: HookPoint = .residPre) {
        self.vector = vector; self.layer = layer; self.scale = scale; self.point = point
    }

    public func edits(for model: LanguageModel) throws -> [ActivationEdit] {
        try ModelCheck.length(vector, "the added vector", model)
        try ModelCheck.layers([layer], "addition layer", model)
        return [ActivationEdit(point: point, layers: [layer], op: .add(vector: vector, scale: scale))]
    }
}

/// A llama.cpp control vector applied as llama.cpp applies it: `scale · direction.n` is added to the
/// output of block `n` (`resid_post[n]`, 0-based; see `ControlVector` for the evidence), at every
/// position. Layers are checked against the model: `n` must be in `1..<numLayers`.
public struct ControlVectorSteering: Intervention {
    public var vector: ControlVector
    public var scale: Float

    public init(vector: ControlVector, scale: Float = 1) {
        self.vector = vector; self.scale = scale
    }

    /// The equivalent `resid_post` additions, one per steered layer.
    public var additions: [ActivationAddition] {
        vector.layers.map { ActivationAddition(vector: vector.directions[$0] ?? [], layer: $0, scale: scale, point: .residPost) }
    }

    public func edits(for model: LanguageModel) throws -> [ActivationEdit] {
        for n in vector.layers where n < 1 || n >= model.config.numLayers {
            throw InterventionError.layerOutOfRange(what: "control vector direction.\(n)", layer: n, layers: model.config.numLayers)
        }
        return try additions.flatMap { try $0.edits(for: model) }
    }
}
