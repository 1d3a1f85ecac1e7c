import Foundation
import Models

/// Applying a LEACE eraser (SPEC §7): at `resid_pre` of each chosen layer, every position of every row
/// (prompt and generated tokens alike), `x ← x − proj_left · (proj_right · (x − bias))` — an `EditOp.erase`
/// the backend executes. Layers whose eraser is the identity get no edit.
public struct LeaceErasure: Intervention {
    public var eraser: LeaceEraser
    /// Layers to erase at (nil = every layer of the file).
    public var layers: [Int]?
    /// Where the eraser came from, for messages.
    public var source: String

    public init(eraser: LeaceEraser, layers: [Int]? = nil, source: String = "the eraser") {
        self.eraser = eraser; self.layers = layers; self.source = source
    }

    /// - Throws: `InterventionError.dimensionMismatch` when the eraser's `d` is not the model's,
    ///   `.layerOutOfRange` for a layer the model lacks, `.badEraserFile` for a chosen layer the file lacks.
    public func edits(for model: LanguageModel) throws -> [ActivationEdit] {
        let d = model.config.hiddenSize
        if let w = eraser.dModel, w != d {
            throw InterventionError.dimensionMismatch(what: "\(source) (proj_left [d, k], d = \(w))", expected: d, actual: w)
        }
        let chosen = layers ?? eraser.layers.keys.sorted()
        try ModelCheck.layers(chosen, "\(source): erased layers", model)
        return try chosen.compactMap { l in
            guard let e = eraser.layers[l] else {
                let held = eraser.layers.keys.sorted().map(String.init).joined(separator: ",")
                throw InterventionError.badEraserFile(path: source, reason: "no eraser for layer \(l) (it holds layers \(held))")
            }
            if e.isIdentity { return nil }
            return ActivationEdit(point: .residPre, layers: [l], op: .erase(left: e.leftRows, right: e.projRight, bias: e.bias))
        }
    }
}
