// Floating-point element types the compute code works with.

/// A floating-point element type that Steer can compute with or convert to and from `Float`.
///
/// The raw values are the dtype names used in safetensors headers, so `DType(rawValue: "BF16")`
/// recognises a header entry directly. Integer and 8-bit float types that may appear in a
/// safetensors file are described by `ModelFormats.SafeTensorsDType`; only these three are
/// converted to `Float`.
public enum DType: String, CaseIterable, Sendable, Hashable, CustomStringConvertible {
    /// IEEE 754 single precision (4 bytes).
    case f32 = "F32"
    /// IEEE 754 half precision (2 bytes): 1 sign, 5 exponent, 10 mantissa bits.
    case f16 = "F16"
    /// bfloat16 (2 bytes): the upper half of an `f32`, 1 sign, 8 exponent, 7 mantissa bits.
    case bf16 = "BF16"

    /// Size of one element in bytes.
    public var byteSize: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        }
    }

    /// The safetensors / torch-style name, e.g. `"BF16"`.
    public var description: String { rawValue }
}
