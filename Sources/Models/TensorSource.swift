import Foundation
import Compute
import ModelFormats

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

/// Reads tensors by name into a backend, checking shapes and dtypes, and remembers which names were
/// used so that loading can be strict about missing and unexpected tensors.
public final class WeightLoader {
    public let source: TensorSource
    public let precision: WeightPrecision
    public let backend: ComputeBackend
    private(set) var used = Set<String>()

    public init(source: TensorSource, precision: WeightPrecision, backend: ComputeBackend) {
        self.source = source
        self.precision = precision
        self.backend = backend
    }

    private lazy var available = Set(source.tensorNames)

    public func contains(_ name: String) -> Bool { available.contains(name) }

    func raw(_ name: String, shape: [Int]) throws -> (RawTensor, DType) {
        guard available.contains(name) else { throw ModelError.missingTensors(folder: source.location, names: [name]) }
        let t = try source.rawTensor(name)
        guard t.shape == shape else { throw ModelError.badTensorShape(name: name, expected: shape, actual: t.shape) }
        guard let dtype = DType(rawValue: t.dtype) else { throw ModelError.badTensorDType(name: name, dtype: t.dtype) }
        // A safetensors file guarantees this; other sources are checked before any pointer is read.
        guard t.bytes.baseAddress != nil, t.bytes.count == shape.reduce(dtype.byteSize, *) else {
            throw ModelError.badInput("tensor \(name): \(t.bytes.count) bytes for shape \(shape) of \(t.dtype)")
        }
        used.insert(name)
        return (t, dtype)
    }

    /// A matrix `[rows, cols]` in the backend, Float32 or kept 16-bit per `precision`.
    public func matrix(_ name: String, rows: Int, cols: Int) throws -> Weight {
        let (t, dtype) = try raw(name, shape: [rows, cols])
        return try backend.weight(WeightData(name: name, dtype: dtype, rows: rows, cols: cols, bytes: t.bytes, owner: t.owner),
                                  keepHalf: precision == .bf16)
    }

    /// A fused projection from its parts (`[rows_i, cols]` each, stacked in order): one weight when the
    /// backend can join them, the parts otherwise.
    public func stacked(_ names: [String], rows: [Int], cols: Int) throws -> [Weight] {
        let parts = try zip(names, rows).map { try matrix($0, rows: $1, cols: cols) }
        return backend.joined(parts).map { [$0] } ?? parts
    }

    /// A vector as Float32 on the host.
    public func floats(_ name: String, count: Int) throws -> [Float] {
        let (t, dtype) = try raw(name, shape: [count])
        guard let base = t.bytes.baseAddress else { return [] }
        return withExtendedLifetime(t.owner) {
            [Float](unsafeUninitializedCapacity: count) { buf, n in
                if let out = buf.baseAddress { DTypeConversion.toFloats(base, dtype: dtype, count: count, into: out) }
                n = count
            }
        }
    }

    /// A vector (norm weight or bias) in the backend, Float32.
    public func vector(_ name: String, count: Int) throws -> Weight {
        try upload(name, try floats(name, count: count))
    }

    /// Several vectors concatenated (the biases of a fused projection).
    public func vector(_ names: [String], counts: [Int]) throws -> Weight {
        try upload(names.joined(separator: "+"), try zip(names, counts).flatMap { try floats($0, count: $1) })
    }

    /// Host floats as a Float32 `1 × n` backend weight.
    public func upload(_ name: String, _ values: [Float]) throws -> Weight {
        let owner = OwnedFloats(values)
        return try backend.weight(WeightData(name: name, dtype: .f32, rows: 1, cols: values.count,
                                             bytes: UnsafeRawBufferPointer(start: owner.pointer, count: values.count * 4),
                                             owner: owner), keepHalf: false)
    }

    /// Names in the source that nothing used.
    public func unusedNames() -> [String] { source.tensorNames.filter { !used.contains($0) } }
}

/// Host floats with a stable address, for uploading.
final class OwnedFloats {
    let pointer: UnsafeMutablePointer<Float>
    init(_ values: [Float]) {
        pointer = .allocate(capacity: max(1, values.count))
        values.withUnsafeBufferPointer { if let b = $0.baseAddress { pointer.update(from: b, count: values.count) } }
    }
    deinit { pointer.deallocate() }
}
