import Foundation
import ModelFormats
import Compute
@testable import Models

/// Paths of the fixture models and of the intervention fixtures (scripts/make_intervention_fixtures.py).
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")
    static func model(_ name: String) -> URL { root.appendingPathComponent("models/\(name)") }
    static let interventions = root.appendingPathComponent("interventions")
}

/// One `<model>.safetensors` of Tests/Fixtures/interventions: transformers' logits of abliterated exports.
struct InterventionFixture {
    let name: String
    let file: SafeTensorsFile
    let info: [String: Any]

    init(_ name: String) throws {
        self.name = name
        file = try SafeTensorsFile(url: Fixtures.interventions.appendingPathComponent("\(name).safetensors"))
        // fixtures.json (make_intervention_fixtures.py), then fixtures_moe.json (make_moe_intervention_fixtures.py).
        var found: [String: Any] = [:]
        for index in ["fixtures.json", "fixtures_moe.json"] where found.isEmpty {
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.interventions.appendingPathComponent(index)))
            found = (((json as? [String: Any])?["models"] as? [String: Any])?[name] as? [String: Any]) ?? [:]
        }
        info = found
    }

    var directionURL: URL { Fixtures.interventions.appendingPathComponent(info["direction_file"] as? String ?? "missing") }
    var variants: [String] { ((info["variants"] as? [String: Any])?.keys.sorted()) ?? [] }

    func spec(_ variant: String) -> [String: Any] {
        (((info["variants"] as? [String: Any])?[variant] as? [String: Any])?["spec"] as? [String: Any]) ?? [:]
    }

    func floats(_ key: String) throws -> [Float] { try file.floats(key) }

    func ints(_ key: String) throws -> [Int] {
        let raw = try file.rawBytes(key)
        return (0..<(raw.count / 8)).map { Int(raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
    }

    /// Names of the edited tensors stored for `variant`.
    func editedTensors(_ variant: String) -> [String] {
        let prefix = "tensor.\(variant)."
        return file.names.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }.sorted()
    }
}

/// Largest absolute difference between two equal-length arrays (NaN when either has a NaN).
func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "length \(a.count) vs \(b.count)")
    var m: Float = 0
    for i in 0..<a.count { m = max(m, abs(a[i] - b[i])) }
    return a.contains(where: \.isNaN) || b.contains(where: \.isNaN) ? .nan : m
}

/// Logits of every position of one unpadded prompt.
func allLogits(_ model: LanguageModel, _ ids: [Int], hooks: Hooks? = nil) throws -> [Float] {
    let (_, logits) = try model.prefill([ids], hooks: hooks, logits: .all)
    return logits?.array ?? []
}

/// How far two of Steer's own forward passes that agree in exact arithmetic may put the compared values apart
/// (`ModelConfig.roundingBound`, M the largest magnitude among them); `extra` lists further reductions on the
/// path, such as a weight edit's projections. Comparisons with transformers keep the fixed 1e-4 fidelity bar.
func roundingBound(_ model: LanguageModel, _ a: [Float], _ b: [Float], tokens: Int, blocks: Int? = nil,
                   logits: Bool = true, extra: [Int] = []) -> Float {
    let m = max(a.lazy.map(abs).max() ?? 0, b.lazy.map(abs).max() ?? 0)
    return Float(model.config.roundingBound(magnitude: Double(m), tokens: tokens, blocks: blocks, logits: logits, extra: extra))
}

/// A weight export against hook ablation: besides the forward pass, each edited matrix rounds its projection
/// r̂ᵀW (length d, accumulated in Float64 and rounded once) and each ablating hook its x·r̂ (length d), at the
/// two write points of every block and at the embedding.
func exportRoundingBound(_ model: LanguageModel, _ a: [Float], _ b: [Float], tokens: Int) -> Float {
    let c = model.config
    return roundingBound(model, a, b, tokens: tokens, extra: Array(repeating: c.hiddenSize, count: 4 * c.numLayers + 2))
}

/// One unit in the last place of `x` stored as `dtype` (F32, BF16 or F16): two Float64 computations of the same
/// value that differ by far less than that round to the same or adjacent numbers of the dtype.
func storageULP(_ x: Float, _ dtype: DType) -> Float {
    let mantissa = dtype == .bf16 ? 7 : dtype == .f16 ? 10 : 23
    guard x.isNormal else { return x.ulp }
    return Float(sign: .plus, exponent: x.exponent - mantissa, significand: 1)
}
