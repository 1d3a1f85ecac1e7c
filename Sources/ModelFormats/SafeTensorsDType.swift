// Every element type a safetensors header may name.

/// An element type named in a safetensors header (`"dtype": "BF16"`).
///
/// Covers the byte-sized types the Python/Rust `safetensors` library writes. The sub-byte
/// types (`F4`, `F6_*`) are not supported and are reported as unknown.
/// The case order is the library's: tensors are laid out by *descending* position in this
/// order, then by name (see `SafeTensorsWriter`).
public enum SafeTensorsDType: String, CaseIterable, Sendable, Hashable, Comparable, CustomStringConvertible {
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
    case f16 = "F16"
    case bf16 = "BF16"
    case i32 = "I32"
    case u32 = "U32"
    case f32 = "F32"
    case c64 = "C64"
    case f64 = "F64"
    case i64 = "I64"
    case u64 = "U64"

    /// Size of one element in bytes.
    public var byteSize: Int {
        switch self {
        case .bool, .u8, .i8, .f8e5m2, .f8e4m3, .f8e4m3fnuz, .f8e5m2fnuz, .f8e8m0: return 1
        case .i16, .u16, .f16, .bf16: return 2
        case .i32, .u32, .f32: return 4
        case .c64, .f64, .i64, .u64: return 8
        }
    }

    /// The compute dtype with the same encoding, for `F32`, `F16` and `BF16`; nil otherwise.
    public var floatType: DType? { DType(rawValue: rawValue) }

    /// The safetensors dtype for a compute dtype.
    public init(_ dtype: DType) {
        switch dtype {
        case .f32: self = .f32
        case .f16: self = .f16
        case .bf16: self = .bf16
        }
    }

    public var description: String { rawValue }

    /// Position in the library's alignment order (see the type's documentation).
    var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }

    public static func < (a: SafeTensorsDType, b: SafeTensorsDType) -> Bool { a.rank < b.rank }
}
