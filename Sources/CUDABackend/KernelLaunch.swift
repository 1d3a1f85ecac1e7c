import CCUDA
import Foundation

/// One argument of a kernel, as the kernel declares it.
enum KernelArgument {
    case pointer(CUdeviceptr)
    /// An `int` parameter.
    case int(Int)
    /// An `i64` (long long) parameter.
    case long(Int)
    case float(Float)
}

extension CUDADevice {
    /// Queues kernel `name` on the stream with a `grid.x × grid.y` grid of `block`-thread blocks; nothing is
    /// launched for an empty grid.
    func launch(_ name: String, grid: (Int, Int), block: Int = 256, shared: Int = 0, _ arguments: [KernelArgument]) throws {
        guard grid.0 > 0, grid.1 > 0 else { return }
        guard grid.0 < Int(Int32.max), grid.1 <= 65_535 else {
            throw CUDAError.unsupported("a launch of \(name) over \(grid.0) × \(grid.1) blocks")
        }
        let function = try kernels.function(name)
        // Every argument in its own 8-byte slot; the driver copies them at launch.
        let storage = UnsafeMutableRawPointer.allocate(byteCount: max(1, arguments.count) * 8, alignment: 8)
        defer { storage.deallocate() }
        var slots: [UnsafeMutableRawPointer?] = []
        for (i, argument) in arguments.enumerated() {
            let slot = storage + i * 8
            switch argument {
            case .pointer(let p): slot.storeBytes(of: UInt64(p), as: UInt64.self)
            case .int(let v): slot.storeBytes(of: Int32(truncatingIfNeeded: v), as: Int32.self)
            case .long(let v): slot.storeBytes(of: Int64(v), as: Int64.self)
            case .float(let v): slot.storeBytes(of: v, as: Float.self)
            }
            slots.append(slot)
        }
        try slots.withUnsafeMutableBufferPointer { b in
            try CUDAError.check(steer_cuLaunchKernel(function, UInt32(grid.0), UInt32(grid.1), 1, UInt32(block), 1, 1,
                                                     UInt32(shared), stream, b.baseAddress, nil),
                                "cuLaunchKernel(\(name), \(grid.0) × \(grid.1) blocks)")
        }
    }

    /// `values` as device `int`s (indices: rows, slots, tokens), freed after the work queued with them.
    func ints(_ values: [Int], for what: String) throws -> DeviceBuffer {
        let narrow = values.map { Int32(truncatingIfNeeded: $0) }
        let buffer = try DeviceBuffer(self, bytes: narrow.count * 4, for: what)
        try narrow.withUnsafeBytes { b in try b.baseAddress.map { try upload($0, bytes: b.count, to: buffer.pointer) } }
        return buffer
    }

    /// Grid size of a grid-stride kernel over `n` elements.
    static func blocks(_ n: Int, _ block: Int = 256) -> Int { max(1, min((n + block - 1) / block, 65_535)) }
}
