import Compute
import Foundation
import ModelFormats

/// The bytes of a test weight as a safetensors file holds them (F32, BF16 or F16), at an aligned or a
/// deliberately odd address (a tensor at an odd offset of a mapped file); the `WeightData.owner`.
final class WeightBytes {
    private let raw: UnsafeMutableRawPointer

    private init(byteCount: Int) {
        raw = .allocate(byteCount: byteCount + 8, alignment: 64)
    }

    deinit { raw.deallocate() }

    /// `values` rounded to `dtype` (nearest, ties to even) as weight data, and the decoded values the
    /// backend must compute with (16-bit values widen to Float32 exactly).
    static func make(_ name: String, _ values: [Float], rows: Int, cols: Int, dtype: DType,
                     misaligned: Bool = false) -> (data: WeightData, values: Grid) {
        precondition(values.count == rows * cols)
        let holder = WeightBytes(byteCount: values.count * dtype.byteSize)
        let start = holder.raw + (misaligned ? 1 : 0)
        var decoded = [Float]()
        for (i, v) in values.enumerated() {
            switch dtype {
            case .bf16:
                let bits = DTypeConversion.bf16(v)
                start.storeBytes(of: bits, toByteOffset: i * 2, as: UInt16.self)
                decoded.append(Float(bitPattern: UInt32(bits) << 16))
            case .f16:
                let bits = DTypeConversion.f16(v)
                start.storeBytes(of: bits, toByteOffset: i * 2, as: UInt16.self)
                decoded.append(Self.halfValue(bits))
            default:
                precondition(dtype == .f32, "test weights are F32, BF16 or F16")
                start.storeBytes(of: v.bitPattern, toByteOffset: i * 4, as: UInt32.self)
                decoded.append(v)
            }
        }
        let bytes = UnsafeRawBufferPointer(start: start, count: values.count * dtype.byteSize)
        let data = WeightData(name: name, dtype: dtype, rows: rows, cols: cols, bytes: bytes, owner: holder)
        return (data, Grid(rows: rows, cols: cols, floats: decoded))
    }

    /// IEEE half by its definition (not the library's bit tricks): sign, 5 exponent bits biased by 15,
    /// 10 mantissa bits; exponent 0 is subnormal. Test values are finite.
    static func halfValue(_ bits: UInt16) -> Float {
        let sign: Double = bits & 0x8000 != 0 ? -1 : 1
        let exponent = Int((bits >> 10) & 0x1F), mantissa = Double(bits & 0x3FF)
        let magnitude = exponent == 0 ? mantissa * 0x1p-24 : (1 + mantissa / 1024) * pow(2, Double(exponent - 15))
        return Float(sign * magnitude)
    }
}
