import Foundation

/// OCP Microscaling FP4 (MXFP4) as gpt-oss checkpoints store it: blocks of 32 values, each an E2M1
/// number in a nibble (two per byte, the low nibble first), sharing one E8M0 scale byte `s` that stands
/// for 2^(s − 127).
///
/// Decoding follows transformers' reference (`integrations/mxfp4.py`, `_convert_moe_packed_tensors`):
/// `value = FP4_VALUES[nibble] · 2^(s − 127)`, computed in Float32 as `torch.ldexp` does (the table value
/// times the power of two, so a scale of 255 gives ±inf, and 0 · inf gives NaN there as here).
public enum MXFP4 {
    /// The 16 E2M1 values, indexed by nibble (bit 3 is the sign).
    public static let values: [Float] = [0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.0, -0.5, -1, -1.5, -2, -3, -4, -6]

    /// Values per scale (one block).
    public static let blockSize = 32
    /// Bytes per block.
    public static let blockBytes = 16

    /// `2^(scale − 127)` in Float32 (2⁻¹²⁷ is subnormal; 2¹²⁸ overflows to infinity).
    @inline(__always)
    public static func scale(_ byte: UInt8) -> Float {
        Float(sign: .plus, exponent: Int(byte) - 127, significand: 1)
    }

    /// Decodes `groups` blocks: `blocks` holds `groups × 16` bytes, `scales` `groups` bytes, and `out`
    /// receives `groups × 32` floats (block g's values at `32g ..< 32g + 32`).
    public static func decode(blocks: UnsafePointer<UInt8>, scales: UnsafePointer<UInt8>, groups: Int,
                              into out: UnsafeMutablePointer<Float>) {
        values.withUnsafeBufferPointer { lut in
            for g in 0..<groups {
                let s = scale(scales[g]), b = blocks + g * blockBytes, o = out + g * blockSize
                for i in 0..<blockBytes {
                    let byte = b[i]
                    o[2 * i] = lut[Int(byte & 0x0F)] * s
                    o[2 * i + 1] = lut[Int(byte >> 4)] * s
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
