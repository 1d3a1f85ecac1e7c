import Foundation

/// How strongly an edit acts at each block, parametrised as heretic does: strength `max` at block
/// `peak` (which may lie between blocks), falling linearly with the distance to `min` at distance
/// `width`, and no edit beyond. Strength `s` removes the fraction `s` of the component along the
/// direction: `W ← W − s·r̂ r̂ᵀ W` for a weight edit, `x ← x − s·(x·r̂) r̂` for ablation with hooks.
public struct LayerWeighting: Codable, Sendable, Equatable, CustomStringConvertible {
    public let peak: Double
    public let width: Double
    public let max: Double
    public let min: Double

    /// Checks the values: finite, `width > 0`, strengths in [0, 2].
    public init(peak: Double, width: Double, max: Double = 1, min: Double = 0) throws {
        guard peak.isFinite else { throw InterventionError.badInput("layer weighting: the peak must be a finite layer index, not \(peak)") }
        guard width.isFinite, width > 0 else { throw InterventionError.badInput("layer weighting: the width must be a positive number of layers, not \(width)") }
        for (name, v) in [("max", max), ("min", min)] where !(v.isFinite && (0...2).contains(v)) {
            throw InterventionError.badInput("layer weighting: the \(name) strength must be in [0, 2], not \(v)")
        }
        self.peak = peak; self.width = width; self.max = max; self.min = min
    }

    /// The strength at block `layer` (0 beyond `width` from the peak).
    public func strength(_ layer: Int) -> Double {
        let distance = abs(Double(layer) - peak)
        guard distance <= width else { return 0 }
        return max + (distance / width) * (min - max)
    }

    /// The strength of every block of a model with `layers` blocks.
    public func strengths(layers: Int) -> [Double] { (0..<layers).map(strength) }

    public var description: String { "peak \(peak), width \(width), strength \(max) at the peak falling to \(min)" }
}
