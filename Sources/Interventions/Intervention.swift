import Foundation
import Models

/// Something that changes a model's forward pass: a value that, checked against a model, becomes
/// `ActivationEdit`s (data the backend executes at hook points).
///
/// Several interventions can be combined (`InterventionSet`); at a hook point their edits run in order.
public protocol Intervention {
    /// The edits this intervention makes, after checking it fits `model` (vector lengths, layers).
    func edits(for model: LanguageModel) throws -> [ActivationEdit]
}

/// Several interventions applied together (e.g. ablation + addition + a control vector).
public struct InterventionSet: Intervention {
    public var members: [Intervention]

    public init(_ members: [Intervention]) { self.members = members }

    public func edits(for model: LanguageModel) throws -> [ActivationEdit] {
        try members.flatMap { try $0.edits(for: model) }
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
