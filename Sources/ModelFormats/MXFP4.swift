import Foundation

/// OCP Microscaling FP4 (MXFP4) as gpt-oss checkpoints store it: blocks of 32 values, each an E2M1
/// number in a nibble (two per byte, the low nibble first), sharing one E8M0 scale byte `s` that stands
/// for 2^(s − 127).
///
/// Decoding follows transformers' reference (`integrations/mxfp4.py`, `_convert_moe_packed_tensors`):
/// `value = ldexp(FP4_VALUES[nibble], s − 127)` in Float32, as `torch.ldexp` computes it: an exact scaling by
/// the power of two (not a product with `2^(s − 127)`, which would overflow first): under scale 255, 0.5 gives
/// 2¹²⁷, 1 and more give ±inf, and zeros stay (signed) zeros.
public enum MXFP4 {
    /// The 16 E2M1 values, indexed by nibble (bit 3 is the sign).
    public static let values: [Float] = [0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.0, -0.5, -1, -1.5, -2, -3, -4, -6]

    /// Values per scale (one block).
    public static let blockSize = 32
    /// Bytes per block.
    public static let blockBytes = 16

    /// `ldexp(value, scale − 127)`: `value` scaled exactly (rounded once, for a subnormal or an overflow).
    @inline(__always)
    public static func scaled(_ value: Float, by byte: UInt8) -> Float {
        Float(sign: value.sign, exponent: Int(byte) - 127, significand: value.magnitude)
    }

    /// Decodes `groups` blocks: `blocks` holds `groups × 16` bytes, `scales` `groups` bytes, and `out`
    /// receives `groups × 32` floats (block g's values at `32g ..< 32g + 32`).
    public static func decode(blocks: UnsafePointer<UInt8>, scales: UnsafePointer<UInt8>, groups: Int,
                              into out: UnsafeMutablePointer<Float>) {
        // The 16 values under one block's scale, then a lookup per nibble.
        var table = [Float](repeating: 0, count: 16)
        table.withUnsafeMutableBufferPointer { t in
            for g in 0..<groups {
                let b = blocks + g * blockBytes, o = out + g * blockSize
                for v in 0..<16 { t[v] = scaled(values[v], by: scales[g]) }
                for i in 0..<blockBytes {
                    let byte = b[i]
                    o[2 * i] = t[Int(byte & 0x0F)]
                    o[2 * i + 1] = t[Int(byte >> 4)]
                }
            }
        }
    }

    /// One decoded row of `cols` values (`cols / 32` blocks) from the row's block and scale bytes.
    public static func decodeRow(blocks: UnsafeRawPointer, scales: UnsafeRawPointer, cols: Int, into out: UnsafeMutablePointer<Float>) {
        decode(blocks: blocks.assumingMemoryBound(to: UInt8.self), scales: scales.assumingMemoryBound(to: UInt8.self),
               groups: cols / blockSize, into: out)
    }
}
