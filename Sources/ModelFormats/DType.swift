// The element types of tensors.

/// An element type a safetensors header may name (`"dtype": "BF16"`): every byte-sized type the
/// Python/Rust `safetensors` library writes. Steer computes with the floating-point three (`isFloat`:
/// F32, F16, BF16, converted to and from `Float` by `DTypeConversion`); tensors of the others are
/// read, copied and reported, never computed with. The sub-byte types (`F4`, `F6_*`) are unknown.
///
/// The raw values are the header names, so `DType(rawValue: "BF16")` recognises a header entry.
/// The case order is the library's: tensors are laid out by *descending* position in this order,
/// then by name (see `SafeTensorsWriter`).
public enum DType: String, CaseIterable, Sendable, Hashable, Comparable, CustomStringConvertible {
    case bool = "BOOL"
    case u8 = "U8"
    case i8 = "I8"
    case f8e5m2 = "F8_E5M2"
    case f8e4m3 = "F8_E4M3"
    case f8e4m3fnuz = "F8_E4M3FNUZ"
    case f8e5m2fnuz = "F8_E5M2FNUZ"
    case f8e8m0 = "F8_E8M0"
    case i16 = "I16"
    case u16 = "U16"
    /// IEEE 754 half precision (2 bytes): 1 sign, 5 exponent, 10 mantissa bits.
    case f16 = "F16"
    /// bfloat16 (2 bytes): the upper half of an `f32`, 1 sign, 8 exponent, 7 mantissa bits.
    case bf16 = "BF16"
    case i32 = "I32"
    case u32 = "U32"
    /// IEEE 754 single precision (4 bytes).
    case f32 = "F32"
    case c64 = "C64"
    case f64 = "F64"
    case i64 = "I64"
    case u64 = "U64"

    /// The types Steer computes with and converts to and from `Float`.
    public static let floatTypes: [DType] = [.f32, .f16, .bf16]

    /// Whether this is one of `floatTypes`.
    public var isFloat: Bool { self == .f32 || self == .f16 || self == .bf16 }

    /// `self` when it is one of `floatTypes`, else nil (`guard let t = info.dtype.floatType`).
    public var floatType: DType? { isFloat ? self : nil }

    /// Size of one element in bytes.
    public var byteSize: Int {
        switch self {
        case .bool, .u8, .i8, .f8e5m2, .f8e4m3, .f8e4m3fnuz, .f8e5m2fnuz, .f8e8m0: return 1
        case .i16, .u16, .f16, .bf16: return 2
        case .i32, .u32, .f32: return 4
        case .c64, .f64, .i64, .u64: return 8
        }
    }

    /// The safetensors / torch-style name, e.g. `"BF16"`.
    public var description: String { rawValue }

    /// Position in the library's alignment order (see the type's documentation).
    var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }

    public static func < (a: DType, b: DType) -> Bool { a.rank < b.rank }
}
