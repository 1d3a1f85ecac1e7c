import Foundation
import ModelFormats

/// A direction file (SPEC §2): a safetensors file holding a single direction `direction`
/// (F32 `[d_model]`) and/or candidate directions `candidates` (F32 `[n_positions, L, d_model]`),
/// optionally the harmless mean `harmless_mean` (F32 `[L, d_model]` or `[d_model]`, used by
/// projected abliteration), with provenance in the header's `__metadata__`.
///
/// The metadata is a free `[String: String]` map that the caller fills; `Direction.Key` names the
/// keys Steer writes and reads (`layer` is used to pick the harmless-mean row).
public struct Direction: Equatable, Sendable {
    /// Well-known `__metadata__` keys.
    public enum Key {
        public static let model = "model"
        public static let modelHash = "model_hash"
        public static let layer = "layer"
        public static let position = "position"
        public static let method = "method"
        public static let promptSets = "prompt_set_hashes"
        public static let toolVersion = "tool_version"
    }

    /// A stack of vectors of one length: `shape.dropLast()` indexes them, `shape.last` is d_model.
    public struct Stack: Equatable, Sendable {
        public var shape: [Int]
        public var values: [Float]
        public init(shape: [Int], values: [Float]) { self.shape = shape; self.values = values }
        public var dModel: Int { shape.last ?? 0 }
        /// The vector at flat index `i` of the leading dimensions.
        public func vector(_ i: Int) -> [Float] { Array(values[(i * dModel)..<((i + 1) * dModel)]) }
    }

    /// The single direction (unnormalised, as found), F32 `[d_model]`.
    public var vector: [Float]?
    /// Candidate directions `[n_positions, L, d_model]`.
    public var candidates: Stack?
    /// Mean activation of harmless prompts per layer, `[L, d_model]` (or one `[d_model]` vector as `[1, d_model]`).
    public var harmlessMean: Stack?
    /// Provenance (`__metadata__`).
    public var metadata: [String: String]

    public init(vector: [Float]? = nil, candidates: Stack? = nil, harmlessMean: Stack? = nil, metadata: [String: String] = [:]) {
        self.vector = vector; self.candidates = candidates; self.harmlessMean = harmlessMean; self.metadata = metadata
    }

    /// The vectors' length.
    public var dModel: Int? { vector?.count ?? candidates?.dModel ?? harmlessMean?.dModel }

    /// The layer recorded in the metadata, if any.
    public var layer: Int? { metadata[Key.layer].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    /// Candidate `(position index, layer)` of `candidates`.
    public func candidate(position: Int, layer: Int) throws -> [Float] {
        guard let c = candidates else { throw InterventionError.badInput("the direction file holds no 'candidates'") }
        guard (0..<c.shape[0]).contains(position), (0..<c.shape[1]).contains(layer) else {
            throw InterventionError.badInput("candidate (\(position), \(layer)) is outside \(c.shape[0]) positions × \(c.shape[1]) layers")
        }
        return c.vector(position * c.shape[1] + layer)
    }

    /// The harmless mean to project out (projected abliteration): the row of `harmless_mean` at
    /// `layer` (default: the metadata's `layer`), or its only row when it holds one vector.
    public func harmlessMeanRow(layer: Int? = nil, path: String) throws -> [Float] {
        guard let h = harmlessMean else { throw InterventionError.badDirectionFile(path: path, reason: "no 'harmless_mean' tensor") }
        if h.shape[0] == 1 { return h.vector(0) }
        guard let l = layer ?? self.layer else {
            throw InterventionError.badDirectionFile(path: path, reason: "'harmless_mean' has \(h.shape[0]) layers but no 'layer' in __metadata__ says which to use")
        }
        guard (0..<h.shape[0]).contains(l) else {
            throw InterventionError.layerOutOfRange(what: "\(path): 'harmless_mean'", layer: l, layers: h.shape[0])
        }
        return h.vector(l)
    }

    /// The `direction` tensor, or an error naming `path` when the file has only candidates.
    public func requireVector(path: String) throws -> [Float] {
        guard let v = vector else {
            throw InterventionError.badDirectionFile(path: path,
                reason: candidates == nil ? "no 'direction' tensor" : "holds only 'candidates'; select one direction first")
        }
        return v
    }

    /// Checks every vector against the model's `d_model`.
    public func check(dModel d: Int, path: String) throws {
        if let v = vector, v.count != d { throw InterventionError.dimensionMismatch(what: "\(path): 'direction'", expected: d, actual: v.count) }
        if let c = candidates, c.dModel != d { throw InterventionError.dimensionMismatch(what: "\(path): 'candidates'", expected: d, actual: c.dModel) }
        if let h = harmlessMean, h.dModel != d { throw InterventionError.dimensionMismatch(what: "\(path): 'harmless_mean'", expected: d, actual: h.dModel) }
    }

    // MARK: Files

    /// Reads a direction file, checking dtypes and shapes.
    public static func read(from url: URL) throws -> Direction {
        let path = url.path
        guard FileManager.default.isReadableFile(atPath: path) else { throw InterventionError.missingFile(path) }
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(url: url) } catch {
            throw InterventionError.badDirectionFile(path: path, reason: "\(error)")
        }
        func floats(_ name: String, ranks: Set<Int>) throws -> Stack? {
            guard let info = file.info(name) else { return nil }
            guard info.dtype == .f32 else { throw InterventionError.badDirectionFile(path: path, reason: "'\(name)' is \(info.dtype), not F32") }
            guard ranks.contains(info.shape.count), info.shape.allSatisfy({ $0 > 0 }) else {
                throw InterventionError.badDirectionFile(path: path, reason: "'\(name)' has shape \(info.shape)")
            }
            let values = try file.floats(name)
            guard values.allSatisfy(\.isFinite) else {
                throw InterventionError.badDirectionFile(path: path, reason: "'\(name)' contains NaN or infinite values")
            }
            return Stack(shape: info.shape, values: values)
        }
        var d = Direction(metadata: file.metadata)
        d.vector = try floats("direction", ranks: [1])?.values
        d.candidates = try floats("candidates", ranks: [3])
        if var h = try floats("harmless_mean", ranks: [1, 2]) {
            if h.shape.count == 1 { h.shape = [1, h.shape[0]] }
            d.harmlessMean = h
        }
        guard d.vector != nil || d.candidates != nil else {
            throw InterventionError.badDirectionFile(path: path, reason: "neither 'direction' [d_model] nor 'candidates' [positions, L, d_model]")
        }
        let lengths = Set([d.vector?.count, d.candidates?.dModel, d.harmlessMean?.dModel].compactMap { $0 })
        guard lengths.count == 1 else {
            throw InterventionError.badDirectionFile(path: path, reason: "tensors disagree on d_model: \(lengths.sorted())")
        }
        return d
    }

    /// Reads only the `harmless_mean` tensor of a file (F32 `[L, d_model]` or `[d_model]`), for
    /// projected abliteration with a separate harmless-mean file.
    public static func readHarmlessMean(from url: URL) throws -> Stack {
        guard FileManager.default.isReadableFile(atPath: url.path) else { throw InterventionError.missingFile(url.path) }
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(url: url) } catch { throw InterventionError.badDirectionFile(path: url.path, reason: "\(error)") }
        guard let info = file.info("harmless_mean") else {
            throw InterventionError.badDirectionFile(path: url.path, reason: "no 'harmless_mean' tensor")
        }
        guard info.dtype == .f32, [1, 2].contains(info.shape.count), info.shape.allSatisfy({ $0 > 0 }) else {
            throw InterventionError.badDirectionFile(path: url.path, reason: "'harmless_mean' is \(info.dtype) \(info.shape), not F32 [L, d_model] or [d_model]")
        }
        let shape = info.shape.count == 1 ? [1, info.shape[0]] : info.shape
        return Stack(shape: shape, values: try file.floats("harmless_mean"))
    }

    /// Writes the file atomically (never over a path in `protecting`).
    public func write(to url: URL, protecting: [URL] = []) throws {
        guard vector != nil || candidates != nil else {
            throw InterventionError.badInput("a direction file needs 'direction' or 'candidates'")
        }
        var w = SafeTensorsWriter(metadata: metadata, protecting: protecting)
        if let v = vector { w.add("direction", floats: v, shape: [v.count], as: .f32) }
        if let c = candidates { w.add("candidates", floats: c.values, shape: c.shape, as: .f32) }
        if let h = harmlessMean { w.add("harmless_mean", floats: h.values, shape: h.shape, as: .f32) }
        try w.write(to: url)
    }
}

/// Small vector helpers shared by the interventions (accumulating in Double).
public enum VectorMath {
    public static func dot(_ a: [Float], _ b: [Float]) -> Double {
        var s = 0.0
        for i in 0..<min(a.count, b.count) { s += Double(a[i]) * Double(b[i]) }
        return s
    }

    public static func norm(_ a: [Float]) -> Double { dot(a, a).squareRoot() }

    /// `a / ‖a‖`, or an error naming `what` when the norm is zero or not finite.
    public static func unit(_ a: [Float], what: String) throws -> [Float] {
        let n = norm(a)
        guard n > 0, n.isFinite else { throw InterventionError.degenerateDirection(what) }
        return a.map { Float(Double($0) / n) }
    }

    /// `r − (r·ĥ) ĥ` with `ĥ = h/‖h‖`: `r` without its component along `h`.
    public static func removingComponent(of h: [Float], from r: [Float], what: String) throws -> [Float] {
        let hh = try unit(h, what: what)
        let p = dot(r, hh)
        return zip(r, hh).map { Float(Double($0) - p * Double($1)) }
    }
}
