// Conversions between Float and the 16-bit float encodings stored in model files.
import Foundation

/// Bit-exact conversions between `Float` and the 16-bit encodings (`f16`, `bf16`).
///
/// - `bf16 → f32` and `f16 → f32` are exact (every 16-bit value is representable as `Float`).
/// - `f32 → bf16` rounds to nearest, ties to even, like torch's `.to(torch.bfloat16)`; overflow
///   rounds to ±inf; NaN stays NaN (sign and top payload bits kept, quiet bit set).
/// - `f32 → f16` rounds to nearest, ties to even, like torch's `.to(torch.float16)`; values beyond
///   the f16 range become ±inf, tiny values become f16 subnormals or ±0; NaN becomes the quiet NaN
///   `0x7E00` with the input's sign.
///
/// Buffer variants split large inputs over all cores (`DispatchQueue.concurrentPerform`).
/// Raw-pointer variants accept unaligned sources and destinations (safetensors does not
/// guarantee alignment), so callers never need to copy first.
public enum DTypeConversion {
    /// Buffers with at least this many elements are converted on several threads.
    public static let parallelThreshold = 1 << 18
    /// Elements per work item in parallel conversions.
    static let chunkSize = 1 << 16

    // MARK: Scalars

    /// The `Float` encoded by the bfloat16 bit pattern `bits`.
    @inlinable @inline(__always)
    public static func float(bf16 bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// The bfloat16 bit pattern nearest to `value` (ties to even).
    @inlinable @inline(__always)
    public static func bf16(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN {
            // Truncating could turn a NaN with only low payload bits into inf; force the quiet bit.
            return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040
        }
        let lsb = (bits >> 16) & 1
        return UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ lsb) >> 16)
    }

    /// The `Float` encoded by the IEEE half-precision bit pattern `bits`.
    @inlinable @inline(__always)
    public static func float(f16 bits: UInt16) -> Float {
        let shiftedExponent: UInt32 = 0x7C00 << 13
        var out = UInt32(bits & 0x7FFF) << 13          // exponent and mantissa in f32 position
        let exponent = out & shiftedExponent
        out &+= UInt32(127 - 15) << 23                 // rebias the exponent
        if exponent == shiftedExponent {
            out &+= UInt32(128 - 16) << 23             // inf / NaN: exponent all ones
        } else if exponent == 0 {
            // Zero or subnormal: let the FPU normalise by subtracting 2^-14.
            out &+= 1 << 23
            out = (Float(bitPattern: out) - Float(bitPattern: 113 << 23)).bitPattern
        }
        return Float(bitPattern: out | (UInt32(bits & 0x8000) << 16))
    }

    /// The IEEE half-precision bit pattern nearest to `value` (ties to even).
    @inlinable @inline(__always)
    public static func f16(_ value: Float) -> UInt16 {
        // Scaling by 2^112 then 2^-110 lets the FPU do the rounding (including into the
        // subnormal range) in round-to-nearest-even; the same method as the FP16 library torch uses.
        let scaleToInf = Float(bitPattern: 0x7780_0000)   // 2^112
        let scaleToZero = Float(bitPattern: 0x0880_0000)  // 2^-110
        var base = (abs(value) * scaleToInf) * scaleToZero
        let w = value.bitPattern
        let shl1 = w &+ w
        let sign = w & 0x8000_0000
        var bias = shl1 & 0xFF00_0000
        if bias < 0x7100_0000 { bias = 0x7100_0000 }
        base = Float(bitPattern: (bias >> 1) &+ 0x0780_0000) + base
        let bits = base.bitPattern
        let exponentBits = (bits >> 13) & 0x7C00
        let mantissaBits = bits & 0x0FFF
        let nonSign = exponentBits &+ mantissaBits
        let result = shl1 > 0xFF00_0000 ? 0x7E00 : nonSign
        return UInt16(truncatingIfNeeded: (sign >> 16) | result)
    }

    // MARK: Typed buffers

    /// Converts `count` bfloat16 values to `Float`.
    public static func bf16ToF32(_ src: UnsafePointer<UInt16>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        forEachChunk(count) { r in for i in r { dst[i] = float(bf16: src[i]) } }
    }

    /// Converts `count` half-precision values to `Float`.
    public static func f16ToF32(_ src: UnsafePointer<UInt16>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        forEachChunk(count) { r in for i in r { dst[i] = float(f16: src[i]) } }
    }

    /// Converts `count` floats to bfloat16 bit patterns (round to nearest even).
    public static func f32ToBF16(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<UInt16>, count: Int) {
        forEachChunk(count) { r in for i in r { dst[i] = bf16(src[i]) } }
    }

    /// Converts `count` floats to half-precision bit patterns (round to nearest even).
    public static func f32ToF16(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<UInt16>, count: Int) {
        forEachChunk(count) { r in for i in r { dst[i] = f16(src[i]) } }
    }

    // MARK: Raw (possibly unaligned) buffers

    /// Decodes `count` little-endian elements of `dtype` at `src` into `dst`.
    /// `src` need not be aligned; `dtype` must be one of `DType.floatTypes` (callers check `isFloat`).
    public static func toFloats(_ src: UnsafeRawPointer, dtype: DType, count: Int,
                                into dst: UnsafeMutablePointer<Float>) {
        let aligned = Int(bitPattern: src) % dtype.byteSize == 0
        switch (dtype, aligned) {
        case (.f32, _):
            UnsafeMutableRawPointer(dst).copyMemory(from: src, byteCount: 4 * count)
        case (.bf16, true):
            bf16ToF32(src.assumingMemoryBound(to: UInt16.self), dst, count: count)
        case (.f16, true):
            f16ToF32(src.assumingMemoryBound(to: UInt16.self), dst, count: count)
        case (.bf16, false):
            forEachChunk(count) { r in
                for i in r { dst[i] = float(bf16: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
            }
        case (.f16, false):
            forEachChunk(count) { r in
                for i in r { dst[i] = float(f16: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
            }
        default:
            preconditionFailure("\(dtype) is not a float type")
        }
    }

    /// Encodes `count` floats as little-endian `dtype` elements at `dst` (need not be aligned);
    /// `dtype` must be one of `DType.floatTypes`.
    public static func fromFloats(_ src: UnsafePointer<Float>, count: Int, dtype: DType,
                                  into dst: UnsafeMutableRawPointer) {
        switch dtype {
        case .f32:
            dst.copyMemory(from: src, byteCount: 4 * count)
        case .bf16:
            forEachChunk(count) { r in
                for i in r { dst.storeBytes(of: bf16(src[i]), toByteOffset: 2 * i, as: UInt16.self) }
            }
        case .f16:
            forEachChunk(count) { r in
                for i in r { dst.storeBytes(of: f16(src[i]), toByteOffset: 2 * i, as: UInt16.self) }
            }
        default:
            preconditionFailure("\(dtype) is not a float type")
        }
    }

    // MARK: Arrays

    /// Decodes a buffer of little-endian `dtype` elements; trailing bytes short of an element are ignored.
    public static func floats(from raw: UnsafeRawBufferPointer, dtype: DType) -> [Float] {
        let count = raw.count / dtype.byteSize
        guard count > 0, let base = raw.baseAddress else { return [] }
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            if let dst = buffer.baseAddress { toFloats(base, dtype: dtype, count: count, into: dst) }
            initialized = count
        }
    }

    /// Decodes bfloat16 bit patterns.
    public static func floats(bf16 bits: [UInt16]) -> [Float] {
        bits.withUnsafeBytes { floats(from: $0, dtype: .bf16) }
    }

    /// Decodes half-precision bit patterns.
    public static func floats(f16 bits: [UInt16]) -> [Float] {
        bits.withUnsafeBytes { floats(from: $0, dtype: .f16) }
    }

    /// Encodes floats as bfloat16 bit patterns (round to nearest even).
    public static func bf16Bits(_ values: [Float]) -> [UInt16] {
        encode16(values, dtype: .bf16)
    }

    /// Encodes floats as half-precision bit patterns (round to nearest even).
    public static func f16Bits(_ values: [Float]) -> [UInt16] {
        encode16(values, dtype: .f16)
    }

    /// Encodes floats as the little-endian bytes of `dtype`.
    public static func bytes(_ values: [Float], as dtype: DType) -> [UInt8] {
        let byteCount = values.count * dtype.byteSize
        return [UInt8](unsafeUninitializedCapacity: byteCount) { buffer, initialized in
            values.withUnsafeBufferPointer { src in
                if let s = src.baseAddress, let d = buffer.baseAddress {
                    fromFloats(s, count: values.count, dtype: dtype, into: UnsafeMutableRawPointer(d))
                }
            }
            initialized = byteCount
        }
    }

    private static func encode16(_ values: [Float], dtype: DType) -> [UInt16] {
        [UInt16](unsafeUninitializedCapacity: values.count) { buffer, initialized in
            values.withUnsafeBufferPointer { src in
                if let s = src.baseAddress, let d = buffer.baseAddress {
                    fromFloats(s, count: values.count, dtype: dtype, into: UnsafeMutableRawPointer(d))
                }
            }
            initialized = values.count
        }
    }

    // MARK: Threading

    /// Runs `body` over `0..<count`, in parallel chunks when `count` is large.
    static func forEachChunk(_ count: Int, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        if count < parallelThreshold {
            body(0..<count)
            return
        }
        let chunks = (count + chunkSize - 1) / chunkSize
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let start = c * chunkSize
            body(start..<min(start + chunkSize, count))
        }
    }
}
