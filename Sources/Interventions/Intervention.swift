import Foundation
import Models
import TensorKit

/// Something that changes a model's forward pass through hook functions.
///
/// Interventions are values: `register(on:model:)` checks them against the model (vector lengths,
/// layer indices) and adds their functions to a `Hooks` object. Several interventions can share one
/// `Hooks`; at a hook point they run in the order they were registered.
public protocol Intervention {
    /// Adds this intervention's hook functions to `hooks`, after checking it fits `model`.
    func register(on hooks: Hooks, model: LanguageModel) throws
}

extension Intervention {
    /// A fresh `Hooks` holding only this intervention.
    public func hooks(for model: LanguageModel) throws -> Hooks {
        let h = Hooks()
        try register(on: h, model: model)
        return h
    }
}

/// Several interventions applied together (e.g. ablation + addition + a control vector).
public struct InterventionSet: Intervention {
    public var members: [Intervention]

    public init(_ members: [Intervention]) { self.members = members }

    public func register(on hooks: Hooks, model: LanguageModel) throws {
        for m in members { try m.register(on: hooks, model: model) }
    }
}

/// Kernels the hook functions share: in-place operations on every row of an activation.
public enum RowOps {
    /// `x ← x − s·(x·u) u` for every row (u of unit length, s the strength).
    public static func ablate(_ act: Activation, unit u: [Float], strength: Float = 1) {
        u.withUnsafeBufferPointer { up in
            guard let ub = up.baseAddress else { return }
            Kernels.projectOut(act.data, rows: act.layout.batch * act.layout.steps, width: act.width, unit: ub, strength: strength)
        }
    }

    /// `x ← x + v` for every row (`v` already scaled).
    public static func add(_ act: Activation, _ v: [Float]) {
        v.withUnsafeBufferPointer { vp in
            guard let vb = vp.baseAddress else { return }
            Kernels.addToRows(vb, act.data, rows: act.layout.batch * act.layout.steps, width: act.width)
        }
    }
}

/// Checking an intervention's inputs against a model.
enum ModelCheck {
    static func length(_ v: [Float], _ what: String, _ model: LanguageModel) throws {
        guard v.count == model.config.hiddenSize else {
            throw InterventionError.dimensionMismatch(what: what, expected: model.config.hiddenSize, actual: v.count)
        }
    }

    static func layers(_ layers: [Int], _ what: String, _ model: LanguageModel) throws {
        let n = model.config.numLayers
        if let bad = layers.first(where: { !(0..<n).contains($0) }) {
            throw InterventionError.layerOutOfRange(what: what, layer: bad, layers: n)
        }
    }
}
