import Foundation
import ModelFormats
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
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.interventions.appendingPathComponent("fixtures.json")))
        info = (((json as? [String: Any])?["models"] as? [String: Any])?[name] as? [String: Any]) ?? [:]
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
