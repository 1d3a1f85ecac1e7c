import Foundation
import Compute

/// One-line descriptions of what differs between layers, for `steer info`.
extension ModelConfig {
    /// Attention kinds and the layers of each: `sliding_attention (window 512) on 5 of 6 layers (0-4);
    /// full_attention on 1 (5)`.
    public var layerTypeSummary: String {
        let windows = Set(blocks.compactMap(\.attention.window)).sorted()
        var parts: [String] = []
        for w in windows {
            let layers = blocks.indices.filter { blocks[$0].attention.window == w }
            parts.append("sliding_attention (window \(w)) on \(layers.count) of \(numLayers) layers (\(Self.layerList(layers)))")
        }
        let full = blocks.indices.filter { blocks[$0].attention.window == nil }
        if windows.isEmpty { return "full_attention on all \(numLayers) layers" }
        if !full.isEmpty { parts.append("full_attention on \(full.count) (\(Self.layerList(full)))") }
        return parts.joined(separator: "; ")
    }

    /// Each RoPE table (base, scaling, rotated width) with the layers that use it, and the layers without RoPE.
    public var ropeSummary: String {
        var parts: [String] = []
        for (i, rope) in ropes.enumerated() {
            let layers = blocks.indices.filter { blocks[$0].attention.rope == i }
            guard !layers.isEmpty else { continue }
            let kinds = Set(layers.map { blocks[$0].attention.window == nil })
            let kind = kinds == [true] && layers.count < numLayers ? "full layers: " : kinds == [false] ? "sliding layers: " : ""
            let scaling = Self.describe(rope.scaling)
            parts.append("\(kind)base \(Self.number(rope.base))\(scaling.isEmpty ? "" : ", " + scaling), rotary_dim \(rope.rotaryDim)"
                         + (layers.count == numLayers ? "" : " (\(Self.layerList(layers)))"))
        }
        let none = blocks.indices.filter { blocks[$0].attention.rope == nil }
        if !none.isEmpty { parts.append("no RoPE on \(none.count) of \(numLayers) layers (\(Self.layerList(none)))") }
        return parts.joined(separator: "; ")
    }

    /// Norm placement: pre-norms, sandwich norms or post-norms only, and q/k norms.
    public var normSummary: String {
        let b = blocks[0]
        var s = b.preNorms ? (b.postAttentionNorm || b.postMLPNorm ? "pre and post (sandwich)" : "pre") : "post only"
        switch b.attention.qkNorm {
        case .none: break
        case .perHead: s += "; q/k RMSNorm per head"
        case .whole: s += "; q/k RMSNorm over all heads"
        }
        return s + (normWeightOffset != 0 ? "; weights as (\(Self.number(normWeightOffset)) + w)" : "")
    }

    /// The scalars that differ from a plain transformer (embedding scale, attention scale, residual
    /// multiplier, logit divisor, soft-caps).
    public var scaleSummary: String {
        var parts: [String] = []
        if let s = embeddingScale { parts.append("embedding ×\(Self.number(s))") }
        let a = attention
        let plain = 1 / Float(a.headDim).squareRoot()
        if a.scale != plain { parts.append("attention scale \(Self.number(a.scale)) (not 1/√\(a.headDim))") }
        if let m = blocks[0].residualMultiplier { parts.append("residual ×\(Self.number(m))") }
        if let cap = a.softcap { parts.append("attention soft-cap \(Self.number(cap))") }
        if let d = logitDivisor { parts.append("logits ÷\(Self.number(d))") }
        if let cap = finalLogitSoftcap { parts.append("logit soft-cap \(Self.number(cap))") }
        return parts.isEmpty ? "none" : parts.joined(separator: ", ")
    }

    static func describe(_ scaling: RoPE.Scaling) -> String {
        switch scaling {
        case .none: return ""
        case .linear(let f): return "linear ×\(number(f))"
        case .llama3(let f, _, _, let original): return "llama3 ×\(number(f)) from \(original)"
        case .longrope(_, _, let original, _): return "longrope from \(original)"
        case .yarn(let f, let original, _, _, let truncate, _): return "yarn ×\(number(f)) from \(original)\(truncate ? "" : " (not truncated)")"
        }
    }

    /// An integer-valued float without a fraction, others in at most 6 significant digits.
    static func number(_ x: Float) -> String {
        if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
        return String(format: "%.6g", Double(x))
    }

    /// Layer indices as ranges (`0-4, 6-10, 12`), the first 8 ranges shown.
    static func layerList(_ layers: [Int]) -> String {
        var ranges: [String] = []
        var i = 0
        while i < layers.count {
            var j = i
            while j + 1 < layers.count, layers[j + 1] == layers[j] + 1 { j += 1 }
            ranges.append(i == j ? "\(layers[i])" : "\(layers[i])-\(layers[j])")
            i = j + 1
        }
        return ranges.count > 8 ? ranges.prefix(8).joined(separator: ", ") + ", …" : ranges.joined(separator: ", ")
    }
}
