import Foundation

/// Errors from reading direction files, building interventions and exporting edited models.
/// Every message names the file, tensor or option involved so it can be shown to a user as is.
public enum InterventionError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// A file that should exist does not (or is not readable).
    case missingFile(String)
    /// A direction file lacks the tensors it needs or holds them with the wrong dtype/shape.
    case badDirectionFile(path: String, reason: String)
    /// An eraser file (`LeaceEraser`) lacks a tensor or holds one with the wrong dtype, shape or values.
    case badEraserFile(path: String, reason: String)
    /// A vector's length differs from the model's `d_model`.
    case dimensionMismatch(what: String, expected: Int, actual: Int)
    /// A layer index outside `0..<numLayers` (or outside what the intervention allows).
    case layerOutOfRange(what: String, layer: Int, layers: Int)
    /// A vector with zero (or non-finite) norm where a direction is needed.
    case degenerateDirection(String)
    /// The export would write into (or over) the source model folder.
    case outputInsideInput(output: String, input: String)
    /// The output folder exists and is not empty (use `force`).
    case outputExists(String)
    /// The model folder is laid out in a way the export does not handle.
    case unsupportedModel(path: String, reason: String)
    /// Anything else wrong with the inputs.
    case badInput(String)

    public var description: String {
        switch self {
        case .missingFile(let p): return "missing file: \(p)"
        case let .badDirectionFile(p, r): return "\(p): not a usable direction file: \(r)"
        case let .badEraserFile(p, r): return "\(p): not a usable eraser file: \(r)"
        case let .dimensionMismatch(w, e, a): return "\(w) has length \(a), but the model's d_model is \(e)"
        case let .layerOutOfRange(w, l, n): return "\(w): layer \(l) is outside 0..<\(n)"
        case .degenerateDirection(let w): return "\(w) has zero or non-finite norm"
        case let .outputInsideInput(o, i): return "refusing to write \(o): it is inside (or is) the source folder \(i)"
        case .outputExists(let p): return "\(p) exists and is not empty (pass --force to overwrite)"
        case let .unsupportedModel(p, r): return "\(p): \(r)"
        case .badInput(let m): return m
        }
    }

    public var errorDescription: String? { description }
}
