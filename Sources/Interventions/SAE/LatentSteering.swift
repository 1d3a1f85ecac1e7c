import Foundation
import Models

/// Steering along one SAE latent at the SAE's own hook, every position of every row (as `--add` does):
/// adding `c·W_dec[i]`, or projecting the unit direction `W_dec[i]/‖W_dec[i]‖` out.
public struct LatentSteering: Intervention {
    public enum Mode: Sendable, Equatable {
        case add(scale: Float)
        case ablate
    }

    public var hookLayer: Int
    public var point: HookPoint
    public var decoderRow: [Float]
    public var mode: Mode
    /// For messages: `SAEDIR:i`.
    public var name: String

    public init(sae: SparseAutoencoder, latent: Int, mode: Mode) throws {
        hookLayer = sae.config.layer
        point = sae.config.point
        decoderRow = try sae.decoderRow(latent)
        self.mode = mode
        name = "\(sae.folder.path):\(latent)"
    }

    public func edits(for model: LanguageModel) throws -> [ActivationEdit] {
        try ModelCheck.length(decoderRow, "the decoder row of \(name)", model)
        try ModelCheck.layers([hookLayer], "the hook of \(name)", model)
        switch mode {
        case .add(let scale):
            return [ActivationEdit(point: point, layers: [hookLayer], op: .add(vector: decoderRow, scale: scale))]
        case .ablate:
            let norm = decoderRow.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            guard norm > 0, norm.isFinite else { throw InterventionError.degenerateDirection("the decoder row of \(name)") }
            return [ActivationEdit(point: point, layers: [hookLayer], op: .projectOut(unit: decoderRow.map { Float(Double($0) / norm) }, strength: 1))]
        }
    }

    /// Parses `SAEDIR:i` (the folder may itself contain ':'; the index follows the last one).
    public static func parse(_ reference: String) throws -> (folder: URL, latent: Int) {
        guard let colon = reference.lastIndex(of: ":"), let i = Int(reference[reference.index(after: colon)...]), i >= 0,
              colon != reference.startIndex else {
            throw SAEError.badLatent("'\(reference)' is not SAEDIR:i (an SAE folder, a colon, a latent index ≥ 0)")
        }
        return (URL(fileURLWithPath: String(reference[..<colon])), i)
    }
}
