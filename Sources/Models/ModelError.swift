import Foundation

/// Errors from reading a model folder and building a model. Messages name the file, key or tensor.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case missingFile(String)
    case unreadableFile(path: String, reason: String)
    case badConfig(path: String, key: String, reason: String)
    case unsupportedModelType(String, supported: [String])
    case unsupportedFeature(path: String, feature: String)
    case missingTensors(folder: String, names: [String])
    case unexpectedTensors(folder: String, names: [String])
    case badTensorShape(name: String, expected: [Int], actual: [Int])
    case badTensorDType(name: String, dtype: String)
    case badInput(String)

    public var description: String {
        switch self {
        case .missingFile(let p): return "missing file: \(p)"
        case let .unreadableFile(p, r): return "cannot read \(p): \(r)"
        case let .badConfig(p, k, r): return "\(p): key '\(k)': \(r)"
        case let .unsupportedModelType(t, s):
            return "unsupported model_type '\(t)'; supported: \(s.sorted().joined(separator: ", "))"
        case let .unsupportedFeature(p, f): return "\(p): unsupported: \(f)"
        case let .missingTensors(f, n): return "\(f): missing tensors: \(Self.list(n))"
        case let .unexpectedTensors(f, n): return "\(f): unexpected tensors: \(Self.list(n))"
        case let .badTensorShape(n, e, a): return "tensor \(n): expected shape \(e), found \(a)"
        case let .badTensorDType(n, d): return "tensor \(n): unsupported dtype \(d) (need F32, F16 or BF16)"
        case .badInput(let m): return m
        }
    }

    private static func list(_ names: [String]) -> String {
        let shown = names.sorted().prefix(12).joined(separator: ", ")
        return names.count > 12 ? "\(shown), … (\(names.count) in all)" : shown
    }
}
