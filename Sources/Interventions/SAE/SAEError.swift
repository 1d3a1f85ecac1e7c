import Foundation

/// Errors from reading an SAE folder and using it with a model. Every message names the folder, file,
/// key or tensor.
public enum SAEError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// `cfg.json` or `sae_weights.safetensors` is missing.
    case missingFile(folder: String, file: String)
    /// A `cfg.json` key is missing or has the wrong type or value.
    case badConfig(path: String, key: String, reason: String)
    /// Something SAELens supports that Steer does not (yet): an architecture, a normalisation, a hook.
    case unsupported(path: String, what: String)
    /// A weight tensor is missing or has the wrong shape or dtype.
    case badWeights(path: String, tensor: String, reason: String)
    /// The SAE does not fit the model (width, layer).
    case mismatch(folder: String, reason: String)
    /// A `SAEDIR:i` latent reference that cannot be used.
    case badLatent(String)

    public var description: String {
        switch self {
        case let .missingFile(folder, file): return "SAE folder \(folder) has no \(file) (an SAELens folder holds cfg.json and sae_weights.safetensors)"
        case let .badConfig(p, k, r): return "\(p): key '\(k)': \(r)"
        case let .unsupported(p, w): return "\(p): unsupported: \(w)"
        case let .badWeights(p, t, r): return "\(p): tensor '\(t)': \(r)"
        case let .mismatch(f, r): return "SAE \(f) does not fit the model: \(r)"
        case .badLatent(let m): return m
        }
    }

    public var errorDescription: String? { description }
}
