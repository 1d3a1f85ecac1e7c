import CCUDA
import Compute
import Foundation

/// Interventions on the device: only captured sums come back, when `read` asks for them.
extension CUDABackend {
    public func projectOut(_ x: Tensor, rows: RowSet, unit: Tensor, strength: Float) {
        onRows(rows) { list, start in
            try device.launch("project_out", grid: (rows.count, 1), [
                .pointer(cuda(x).buffer.pointer), .int(x.cols), .pointer(list), .int(start), .pointer(cuda(unit).buffer.pointer),
                .float(strength)])
        }
    }

    public func addVector(_ vector: Tensor, scale: Float, to x: Tensor, rows: RowSet) {
        onRows(rows) { list, start in
            try device.launch("add_vector", grid: (rows.count, 1), [
                .pointer(cuda(vector).buffer.pointer), .float(scale), .pointer(cuda(x).buffer.pointer), .int(x.cols), .pointer(list),
                .int(start)])
        }
    }

    public func erase(_ x: Tensor, rows: RowSet, left: Tensor, right: Tensor, bias: Tensor) {
        let k = min(left.rows, right.rows)
        onRows(rows) { list, start in
            guard k * 4 <= 48 * 1024 else { throw CUDAError.unsupported("an eraser of rank \(k) (at most 12288)") }
            try device.launch("erase", grid: (rows.count, 1), shared: k * 4, [
                .pointer(cuda(x).buffer.pointer), .int(x.cols), .pointer(list), .int(start), .pointer(cuda(left).buffer.pointer),
                .pointer(cuda(right).buffer.pointer), .pointer(cuda(bias).buffer.pointer), .int(k)])
        }
    }

    public func accumulate(_ x: Tensor, rows: [Int], into acc: Accumulator, targets: [Int]) {
        let n = min(rows.count, targets.count)
        run {
            let r = try device.ints(Array(rows.prefix(n)), for: "captured rows")
            let t = try device.ints(Array(targets.prefix(n)), for: "capture targets")
            try device.launch("accumulate", grid: (n, 1), [
                .pointer(cuda(x).buffer.pointer), .int(x.cols), .pointer(r.pointer), .pointer(t.pointer),
                .pointer(cuda(acc).buffer.pointer), .int(acc.cols)])
        }
    }

    /// Runs `body` with a row set as the kernels take it: a device list (or 0) and a first row.
    private func onRows(_ rows: RowSet, _ body: (CUdeviceptr, Int) throws -> Void) {
        guard rows.count > 0 else { return }
        run {
            switch rows {
            case .range(let r): try body(0, r.lowerBound)
            case .list(let l):
                let list = try device.ints(l, for: "rows of an intervention")
                try body(list.pointer, 0)
            }
        }
    }
}
