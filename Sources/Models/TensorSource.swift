import Foundation
import TensorKit

/// A raw tensor as stored in a checkpoint: dtype name, shape and bytes (often inside a mapped file).
public struct RawTensor {
    public var dtype: String
    public var shape: [Int]
    public var bytes: UnsafeRawBufferPointer
    /// Keeps the bytes alive (the mapped file or an owning buffer).
    public var owner: AnyObject
    public init(dtype: String, shape: [Int], bytes: UnsafeRawBufferPointer, owner: AnyObject) {
        self.dtype = dtype; self.shape = shape; self.bytes = bytes; self.owner = owner
    }
}

/// Where a model's weights come from (a safetensors folder, or an in-memory set in tests).
public protocol TensorSource: AnyObject {
    var tensorNames: [String] { get }
    var location: String { get }
    func rawTensor(_ name: String) throws -> RawTensor
}

/// How weight matrices are held in memory.
public enum WeightPrecision: String, Sendable, CaseIterable {
    /// Converted to Float32 at load (fastest on CPU BLAS; memory = 2× a bf16 file).
    case f32
    /// Kept in the file's 16-bit dtype, memory-mapped, converted on use (memory ≈ file size).
    case bf16
}

/// Reads tensors by name, converting and checking shapes, and remembers which names were used
/// so that loading can be strict about missing and unexpected tensors.
public final class WeightLoader {
    public let source: TensorSource
    public let precision: WeightPrecision
    private(set) var used = Set<String>()

    public init(source: TensorSource, precision: WeightPrecision) {
        self.source = source
        self.precision = precision
    }

    private lazy var available = Set(source.tensorNames)

    public func contains(_ name: String) -> Bool { available.contains(name) }

    func raw(_ name: String, shape: [Int]) throws -> RawTensor {
        guard available.contains(name) else { throw ModelError.missingTensors(folder: source.location, names: [name]) }
        let t = try source.rawTensor(name)
        guard t.shape == shape else { throw ModelError.badTensorShape(name: name, expected: shape, actual: t.shape) }
        guard let size = Self.elementSize[t.dtype] else { throw ModelError.badTensorDType(name: name, dtype: t.dtype) }
        // A safetensors file guarantees this; other sources are checked before any pointer is read.
        guard t.bytes.baseAddress != nil, t.bytes.count == shape.reduce(size, *) else {
            throw ModelError.badInput("tensor \(name): \(t.bytes.count) bytes for shape \(shape) of \(t.dtype)")
        }
        used.insert(name)
        return t
    }

    /// Bytes per element of the dtypes weights may have.
    static let elementSize = ["F32": 4, "F16": 2, "BF16": 2]

    /// A vector (norm weight or bias) as Float32.
    public func vector(_ name: String, count: Int) throws -> [Float] {
        let t = try raw(name, shape: [count])
        return try Self.floats(t, name: name)
    }

    /// A matrix `[rows, cols]`, Float32 or kept 16-bit per `precision`.
    public func matrix(_ name: String, rows: Int, cols: Int) throws -> Matrix {
        let t = try raw(name, shape: [rows, cols])
        guard let base = t.bytes.baseAddress else { throw ModelError.badInput("tensor \(name) has no data") }
        switch t.dtype {
        case "F32":
            if Int(bitPattern: base) % MemoryLayout<Float>.alignment == 0 {
                return Matrix(rows: rows, cols: cols, storage: .f32(base.assumingMemoryBound(to: Float.self)), owner: t.owner)
            }
            return Matrix(rows: rows, cols: cols, buffer: FloatBuffer(try Self.floats(t, name: name)))
        case "BF16", "F16":
            let aligned = Int(bitPattern: base) % 2 == 0
            if precision == .bf16 && aligned {
                let p = base.assumingMemoryBound(to: UInt16.self)
                return Matrix(rows: rows, cols: cols, storage: t.dtype == "BF16" ? .bf16(p) : .f16(p), owner: t.owner)
            }
            let (p, owner) = Self.alignedHalf(t)
            let half = Matrix(rows: rows, cols: cols, storage: t.dtype == "BF16" ? .bf16(p) : .f16(p), owner: owner)
            return precision == .bf16 ? half : Matrix(rows: rows, cols: cols, buffer: half.toFloat32())
        default:
            throw ModelError.badTensorDType(name: name, dtype: t.dtype)
        }
    }

    /// Names in the source that nothing used.
    public func unusedNames() -> [String] { source.tensorNames.filter { !used.contains($0) } }

    /// Any float tensor as a Float32 array.
    public static func floats(_ t: RawTensor, name: String) throws -> [Float] {
        let n = t.shape.reduce(1, *)
        guard n > 0 else { return [] }
        var out = [Float](repeating: 0, count: n)
        switch t.dtype {
        case "F32":
            out.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: t.bytes[0..<(n * 4)])) }
        case "BF16", "F16":
            let (p, owner) = alignedHalf(t)
            withExtendedLifetime(owner) {
                out.withUnsafeMutableBufferPointer { o in
                    guard let dst = o.baseAddress else { return }
                    if t.dtype == "BF16" { Half.bf16ToFloat(p, dst, count: n) } else { Half.f16ToFloat(p, dst, count: n) }
                }
            }
        default:
            throw ModelError.badTensorDType(name: name, dtype: t.dtype)
        }
        return out
    }

    /// 16-bit data at an even address (copied only when the file's offset is odd).
    static func alignedHalf(_ t: RawTensor) -> (UnsafePointer<UInt16>, AnyObject) {
        guard let base = t.bytes.baseAddress else {
            let empty = HalfBuffer(count: 0)
            return (UnsafePointer(empty.pointer), empty)
        }
        if Int(bitPattern: base) % 2 == 0 { return (base.assumingMemoryBound(to: UInt16.self), t.owner) }
        let n = t.bytes.count / 2
        let copy = HalfBuffer(count: n)
        UnsafeMutableRawPointer(copy.pointer).copyMemory(from: base, byteCount: n * 2)
        return (UnsafePointer(copy.pointer), copy)
    }
}

/// Owned 16-bit storage for the rare unaligned tensor.
final class HalfBuffer {
    let pointer: UnsafeMutablePointer<UInt16>
    init(count: Int) { pointer = .allocate(capacity: max(1, count)) }
    deinit { pointer.deallocate() }
}
