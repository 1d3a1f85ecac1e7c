import Foundation
import ModelFormats

/// An eraser file (`eraser.safetensors`, SPEC §7): per layer `l` the affine edit of concept-erasure's
/// `LeaceEraser`, `x' = x − proj_left · (proj_right · (x − bias))`, stored as
/// `layer.{l}.proj_left` `[d, k]`, `layer.{l}.proj_right` `[k, d]` and `layer.{l}.bias` `[d]` (F32; F16 and
/// BF16 are read too), with the fitting settings in `__metadata__`. A missing bias is zero (concept-erasure
/// with `affine=False`). Layers need not be contiguous; every layer has the same `d`.
public struct LeaceEraser: Equatable, Sendable {
    /// Well-known `__metadata__` keys.
    public enum Key {
        public static let format = "format"
        public static let method = "method"
        public static let shrinkage = "shrinkage"
        public static let svdTol = "svd_tol"
        public static let positions = "positions"
        public static let identityLayers = "identity_layers"
    }

    /// One layer's edit.
    public struct Layer: Equatable, Sendable {
        public let dModel: Int
        /// k, the number of columns of `proj_left` (1 for a binary concept).
        public let rank: Int
        /// `proj_left` `[d, k]`, row-major.
        public let projLeft: [Float]
        /// `proj_right` `[k, d]`, row-major.
        public let projRight: [Float]
        /// `bias` `[d]` (the pooled mean of the fitting activations).
        public let bias: [Float]

        /// - Throws: `InterventionError.badInput` when the shapes disagree or a value is not finite.
        public init(projLeft: [Float], projRight: [Float], bias: [Float]) throws {
            let d = bias.count, k = d == 0 ? 0 : projRight.count / d
            guard d > 0, k > 0, projRight.count == k * d, projLeft.count == d * k else {
                throw InterventionError.badInput("an eraser layer needs proj_left [d, k], proj_right [k, d] and bias [d]; got \(projLeft.count), \(projRight.count) and \(d) values")
            }
            guard projLeft.allSatisfy(\.isFinite), projRight.allSatisfy(\.isFinite), bias.allSatisfy(\.isFinite) else {
                throw InterventionError.badInput("an eraser layer holds NaN or infinite values")
            }
            dModel = d; rank = k
            self.projLeft = projLeft; self.projRight = projRight; self.bias = bias
        }

        /// The identity edit (`proj_left = proj_right = 0`, k = 1) for a layer where the concept could not be found.
        public static func identity(bias: [Float]) -> Layer {
            let zeros = [Float](repeating: 0, count: bias.count)
            return Layer(unchecked: zeros, zeros, bias)
        }

        private init(unchecked left: [Float], _ right: [Float], _ bias: [Float]) {
            dModel = bias.count; rank = 1; projLeft = left; projRight = right; self.bias = bias
        }

        /// Whether the edit changes nothing (`proj_left · proj_right = 0`).
        public var isIdentity: Bool { projLeft.allSatisfy { $0 == 0 } || projRight.allSatisfy { $0 == 0 } }

        /// `proj_left` transposed (`[k, d]`): the rows `ComputeBackend.erase` takes.
        public var leftRows: [Float] {
            (0..<rank).flatMap { j in (0..<dModel).map { projLeft[$0 * rank + j] } }
        }

        /// `x − proj_left · (proj_right · (x − bias))` of one row, in Float64 (for reports and checks).
        public func apply(_ x: [Double]) -> [Double] {
            let d = dModel, k = rank
            let centred = (0..<d).map { x[$0] - Double(bias[$0]) }
            let coefficients = (0..<k).map { j in (0..<d).reduce(0.0) { $0 + Double(projRight[j * d + $1]) * centred[$1] } }
            return (0..<d).map { i in x[i] - (0..<k).reduce(0.0) { $0 + Double(projLeft[i * k + $1]) * coefficients[$1] } }
        }
    }

    public var layers: [Int: Layer]
    /// Fitting settings and provenance (`__metadata__`).
    public var metadata: [String: String]

    public init(layers: [Int: Layer], metadata: [String: String] = [:]) {
        self.layers = layers; self.metadata = metadata
    }

    /// The activations' width, when there is a layer.
    public var dModel: Int? { layers.values.first?.dModel }

    // MARK: Files

    /// Reads and validates an eraser file: names `layer.{l}.proj_left|proj_right|bias` only, float dtypes,
    /// shapes `[d, k]`, `[k, d]`, `[d]` with one `d` for every layer, finite values.
    /// - Throws: `InterventionError.missingFile`, or `.badEraserFile` naming the file and the tensor.
    public static func read(from url: URL) throws -> LeaceEraser {
        let path = url.path
        guard FileManager.default.isReadableFile(atPath: path) else { throw InterventionError.missingFile(path) }
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(url: url) } catch { throw InterventionError.badEraserFile(path: path, reason: "\(error)") }
        func bad(_ reason: String) -> InterventionError { .badEraserFile(path: path, reason: reason) }
        var parts: [Int: Set<String>] = [:]
        for name in file.names {
            let pieces = name.split(separator: ".", omittingEmptySubsequences: false)
            guard pieces.count == 3, pieces[0] == "layer", let l = Int(pieces[1]), l >= 0, String(l) == pieces[1],
                  ["proj_left", "proj_right", "bias"].contains(String(pieces[2])) else {
                throw bad("unexpected tensor '\(name)' (expected layer.L.proj_left, layer.L.proj_right, layer.L.bias)")
            }
            parts[l, default: []].insert(String(pieces[2]))
        }
        guard !parts.isEmpty else { throw bad("no layer.L.proj_left / proj_right tensors") }
        func values(_ name: String, rank: Int) throws -> (shape: [Int], values: [Float]) {
            let info = try file.tensorInfo(name)
            guard info.floatType != nil else { throw bad("'\(name)' is \(info.dtype), not F32, F16 or BF16") }
            guard info.shape.count == rank, info.shape.allSatisfy({ $0 > 0 }) else { throw bad("'\(name)' has shape \(info.shape)") }
            let v = try file.floats(name)
            guard v.allSatisfy(\.isFinite) else { throw bad("'\(name)' contains NaN or infinite values") }
            return (info.shape, v)
        }
        var layers: [Int: Layer] = [:], width: Int?
        for l in parts.keys.sorted() {
            guard parts[l]?.contains("proj_left") == true, parts[l]?.contains("proj_right") == true else {
                throw bad("layer \(l) lacks '\(parts[l]?.contains("proj_left") == true ? "layer.\(l).proj_right" : "layer.\(l).proj_left")'")
            }
            let left = try values("layer.\(l).proj_left", rank: 2), right = try values("layer.\(l).proj_right", rank: 2)
            let d = left.shape[0], k = left.shape[1]
            guard right.shape == [k, d] else {
                throw bad("layer.\(l).proj_right has shape \(right.shape); proj_left [\(d), \(k)] needs [\(k), \(d)]")
            }
            if let w = width, w != d { throw bad("layer \(l) has d = \(d), other layers \(w)") }
            width = d
            var bias = [Float](repeating: 0, count: d)
            if parts[l]?.contains("bias") == true {
                let b = try values("layer.\(l).bias", rank: 1)
                guard b.shape == [d] else { throw bad("layer.\(l).bias has shape \(b.shape), expected [\(d)]") }
                bias = b.values
            }
            layers[l] = try Layer(projLeft: left.values, projRight: right.values, bias: bias)
        }
        return LeaceEraser(layers: layers, metadata: file.metadata)
    }

    /// Writes the file atomically (F32; never over a path in `protecting`).
    public func write(to url: URL, protecting: [URL] = []) throws {
        guard !layers.isEmpty else { throw InterventionError.badInput("an eraser file needs at least one layer") }
        var w = SafeTensorsWriter(metadata: metadata, protecting: protecting)
        for (l, e) in layers {
            w.add("layer.\(l).proj_left", floats: e.projLeft, shape: [e.dModel, e.rank], as: .f32)
            w.add("layer.\(l).proj_right", floats: e.projRight, shape: [e.rank, e.dModel], as: .f32)
            w.add("layer.\(l).bias", floats: e.bias, shape: [e.dModel], as: .f32)
        }
        try w.write(to: url)
    }
}
