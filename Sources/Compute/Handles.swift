import Foundation
import ModelFormats

/// Row-major Float32 activations `[rows, cols]` in a backend's memory. Only the backend that made a
/// tensor reads or writes its memory; everyone else holds the handle.
open class Tensor: @unchecked Sendable {
    public let rows: Int
    public let cols: Int

    public init(rows: Int, cols: Int) {
        self.rows = rows; self.cols = cols
    }
}

/// A weight `[rows (outputs), cols (inputs)]` as in `torch.nn.Linear.weight`, or a vector (`1 × n`),
/// uploaded once in the dtype the backend keeps it in.
open class Weight: @unchecked Sendable {
    public let name: String
    public let rows: Int
    public let cols: Int
    /// The dtype the backend holds (F32, BF16 or F16).
    public let dtype: DType

    public init(name: String, rows: Int, cols: Int, dtype: DType) {
        self.name = name; self.rows = rows; self.cols = cols; self.dtype = dtype
    }

    public var count: Int { rows * cols }
}

/// Keys and values of every layer, `slots × kvDim` each, addressed by slot.
open class KVStore: @unchecked Sendable {
    public let layers: Int
    public let slots: Int
    public let kvDim: Int

    public init(layers: Int, slots: Int, kvDim: Int) {
        self.layers = layers; self.slots = slots; self.kvDim = kvDim
    }

    /// Bytes held by keys and values (Float32).
    public var bytes: Int { 2 * layers * slots * kvDim * 4 }
}

/// Float64 sums of rows (for means over many prompts).
open class Accumulator: @unchecked Sendable {
    public let rows: Int
    public let cols: Int

    public init(rows: Int, cols: Int) {
        self.rows = rows; self.cols = cols
    }
}

/// cos/sin tables of one RoPE scheme for a list of positions.
open class RoPETables: @unchecked Sendable {
    /// Table rows (positions).
    public let count: Int
    /// Rotated dimensions per head.
    public let rotaryDim: Int

    public init(count: Int, rotaryDim: Int) {
        self.count = count; self.rotaryDim = rotaryDim
    }
}
