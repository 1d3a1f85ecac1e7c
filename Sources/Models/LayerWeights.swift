import Foundation
import TensorKit

/// The weights of one decoder block in Steer's common layout. Fused checkpoints (Phi-3 `qkv_proj`,
/// Qwen-1 `c_attn`) give one part; separate q/k/v give three parts written side by side.
public struct LayerWeights {
    public var inputNorm: [Float]
    /// Parts of the query/key/value projection, producing `[q | k | v]` columns in order.
    public var qkv: [Matrix]
    public var qkvBias: [Float]?
    /// Qwen-3 per-head norms applied to queries and keys before RoPE.
    public var qNorm: [Float]?
    public var kNorm: [Float]?
    public var o: Matrix
    public var oBias: [Float]?
    /// Gemma-2's norm on the attention output (before it is added to the residual stream).
    public var postAttentionNorm: [Float]?
    public var preMLPNorm: [Float]
    /// Parts of the MLP input projection, producing `[gate | up]` columns in order.
    public var gateUp: [Matrix]
    public var gateUpBias: [Float]?
    public var down: Matrix
    public var downBias: [Float]?
    /// Gemma-2's norm on the MLP output.
    public var postMLPNorm: [Float]?

    public init(inputNorm: [Float], qkv: [Matrix], qkvBias: [Float]? = nil, qNorm: [Float]? = nil,
                kNorm: [Float]? = nil, o: Matrix, oBias: [Float]? = nil, postAttentionNorm: [Float]? = nil,
                preMLPNorm: [Float], gateUp: [Matrix], gateUpBias: [Float]? = nil, down: Matrix,
                downBias: [Float]? = nil, postMLPNorm: [Float]? = nil) {
        self.inputNorm = inputNorm; self.qkv = qkv; self.qkvBias = qkvBias; self.qNorm = qNorm
        self.kNorm = kNorm; self.o = o; self.oBias = oBias; self.postAttentionNorm = postAttentionNorm
        self.preMLPNorm = preMLPNorm; self.gateUp = gateUp; self.gateUpBias = gateUpBias; self.down = down
        self.downBias = downBias; self.postMLPNorm = postMLPNorm
    }
}

extension LayerWeights {
    /// The same block with the q/k/v parts, and the gate/up parts, each joined into one matrix when every
    /// part is an owned Float32 copy (converted from a 16-bit file): one wider matrix product instead of
    /// several, at no extra memory. Mapped Float32 parts stay as they are (joining would copy them).
    func joiningOwnedParts() -> LayerWeights {
        var out = self
        if let q = Matrix.joined(qkv) { out.qkv = [q] }
        if let g = Matrix.joined(gateUp) { out.gateUp = [g] }
        return out
    }
}

extension Matrix {
    /// The rows of `parts` stacked, when there are several parts, all owned Float32 with equal columns.
    static func joined(_ parts: [Matrix]) -> Matrix? {
        guard parts.count > 1, let cols = parts.first?.cols, parts.allSatisfy({ $0.cols == cols && $0.ownsFloat32 }) else { return nil }
        let rows = parts.reduce(0) { $0 + $1.rows }
        let buffer = FloatBuffer(uninitializedCount: rows * cols)
        var r = 0
        for part in parts {
            guard case .f32(let p) = part.storage else { return nil }
            (buffer.pointer + r * cols).update(from: p, count: part.rows * cols)
            r += part.rows
        }
        return Matrix(rows: rows, cols: cols, buffer: buffer)
    }
}

extension Array where Element == Matrix {
    /// Applies each part into consecutive column ranges of `y` (row stride `ldy`).
    func apply(_ x: UnsafePointer<Float>, m: Int, into y: UnsafeMutablePointer<Float>, ldy: Int) {
        var col = 0
        for part in self {
            part.apply(x, m: m, into: y + col, ldy: ldy)
            col += part.rows
        }
    }
}

/// Adds a bias row to `m` rows of stride `ld`.
func addBias(_ bias: [Float]?, to y: UnsafeMutablePointer<Float>, m: Int, ld: Int) {
    guard let bias else { return }
    bias.withUnsafeBufferPointer { b in
        for i in 0..<m { Kernels.add(b.baseAddress!, into: y + i * ld, b.count) }
    }
}
