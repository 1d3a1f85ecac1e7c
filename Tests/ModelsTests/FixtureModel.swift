import Foundation
import ModelFormats
@testable import Models

/// A fixture model folder from scripts/make_model_fixtures.py and transformers' outputs for it.
struct FixtureModel {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/models")
    static let names = ["llama", "llama_bf16", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "phi3", "qwen",
                        "gemma3_text", "gemma3", "olmo2", "smollm3", "granite",
                        "qwen3_moe", "mixtral", "gpt_oss", "gpt_oss_mxfp4"]

    let name: String
    let directory: URL
    let reference: SafeTensorsFile

    init(_ name: String) throws {
        self.name = name
        directory = Self.root.appendingPathComponent(name)
        reference = try SafeTensorsFile(url: directory.appendingPathComponent("reference.safetensors"))
    }

    func load(_ precision: WeightPrecision = .f32) throws -> LanguageModel {
        try ModelLoader.load(directory: directory, precision: precision)
    }

    func floats(_ key: String) throws -> [Float] { try reference.floats(key) }
    func shape(_ key: String) throws -> [Int] { try reference.tensorInfo(key).shape }

    func ints(_ key: String) throws -> [Int] {
        let raw = try reference.rawBytes(key)
        let info = try reference.tensorInfo(key)
        precondition(info.dtype.rawValue == "I64", "\(key) is not I64")
        return (0..<(raw.count / 8)).map { Int(raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
    }
}

/// Largest absolute difference between two equal-length arrays.
func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "length \(a.count) vs \(b.count)")
    var m: Float = 0
    for i in 0..<a.count { m = max(m, abs(a[i] - b[i])) }
    return a.contains(where: \.isNaN) || b.contains(where: \.isNaN) ? .nan : m
}

/// How far two of Steer's own forward passes of `tokens` tokens that differ only in float32 rounding (batch
/// shape, packing, BLAS kernel, threads) may put the compared values apart: `ModelConfig.roundingBound` with
/// M the largest magnitude among them. (Comparisons with transformers keep the fixed 1e-4 fidelity bar.)
func roundingBound(_ model: LanguageModel, _ a: [Float], _ b: [Float], tokens: Int, blocks: Int? = nil, logits: Bool = true) -> Float {
    let m = max(a.lazy.map(abs).max() ?? 0, b.lazy.map(abs).max() ?? 0)
    return Float(model.config.roundingBound(magnitude: Double(m), tokens: tokens, blocks: blocks, logits: logits))
}
