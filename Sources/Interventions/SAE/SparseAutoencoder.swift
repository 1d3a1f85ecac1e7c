import Compute
import Foundation
import ModelFormats
import Models

/// A sparse autoencoder from an SAELens folder (`cfg.json` + `sae_weights.safetensors`: `W_enc [d_in, d_sae]`,
/// `W_dec [d_sae, d_in]`, `b_enc [d_sae]`, `b_dec [d_in]`, `threshold [d_sae]` for JumpReLU), encoding as
/// SAELens 6's `encode()`: `pre = (x − b_dec·apply_b_dec_to_input) @ W_enc + b_enc`, then the architecture's
/// activation, in Float32. The matrices live in a compute backend (the products run there); the file
/// stays mapped for decoder rows.
public final class SparseAutoencoder {
    public let config: SAEConfig
    public let folder: URL
    let file: SafeTensorsFile
    let encoder: Weight
    let decoder: Weight
    let encoderBias: [Float]
    let decoderBias: [Float]
    let threshold: [Float]?
    let backend: ComputeBackend

    /// Reads `folder` and uploads its matrices to `backend`; shapes are checked against `cfg.json`.
    public init(folder: URL, backend: ComputeBackend = CPUBackend.shared) throws {
        config = try SAEConfig.read(folder: folder)
        self.folder = folder
        self.backend = backend
        let url = folder.appendingPathComponent("sae_weights.safetensors")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw SAEError.missingFile(folder: folder.path, file: "sae_weights.safetensors")
        }
        let file = try SafeTensorsFile(url: url)
        self.file = file
        let c = config, path = url.path
        func info(_ name: String, _ shape: [Int]) throws -> SafeTensorInfo {
            guard let i = file.info(name) else { throw SAEError.badWeights(path: path, tensor: name, reason: "missing") }
            guard i.shape == shape else {
                throw SAEError.badWeights(path: path, tensor: name, reason: "shape \(i.shape), but cfg.json's d_in \(c.dIn) and d_sae \(c.dSae) make it \(shape)")
            }
            guard i.floatType != nil else { throw SAEError.badWeights(path: path, tensor: name, reason: "dtype \(i.dtype.rawValue) (need F32, F16 or BF16)") }
            return i
        }
        func matrix(_ name: String, rows: Int, cols: Int) throws -> Weight {
            let i = try info(name, [rows, cols])
            guard let dtype = i.floatType else { throw SAEError.badWeights(path: path, tensor: name, reason: "not a float tensor") }
            return try backend.weight(WeightData(name: name, dtype: dtype, rows: rows, cols: cols, bytes: try file.rawBytes(name), owner: file),
                                      keepHalf: false)
        }
        encoder = try matrix("W_enc", rows: c.dIn, cols: c.dSae)
        decoder = try matrix("W_dec", rows: c.dSae, cols: c.dIn)
        _ = try info("b_enc", [c.dSae]); _ = try info("b_dec", [c.dIn])
        encoderBias = try file.floats("b_enc")
        decoderBias = try file.floats("b_dec")
        if c.architecture == .jumpReLU {
            _ = try info("threshold", [c.dSae])
            threshold = try file.floats("threshold")
        } else {
            threshold = nil
        }
        if file.contains("scaling_factor"), try file.floats("scaling_factor").contains(where: { $0 != 1 }) {
            throw SAEError.unsupported(path: path, what: "a 'scaling_factor' other than 1 (finetuning scaling)")
        }
    }

    /// The residual-stream point the SAE reads, as a gradient point (`resid_post[l]` is `resid_pre[l + 1]`).
    public var streamPoint: StreamPoint? { StreamPoint(hook: config.point, layer: config.layer) }

    /// Checks that the SAE reads a stream of this model: `d_in` = d_model and the hook's layer exists.
    public func check(model: LanguageModel) throws {
        let c = model.config
        guard config.dIn == c.hiddenSize else {
            throw SAEError.mismatch(folder: folder.path, reason: "its d_in is \(config.dIn), the model's d_model is \(c.hiddenSize)")
        }
        guard config.layer < c.numLayers else {
            throw SAEError.mismatch(folder: folder.path, reason: "hook \(config.hookName) names layer \(config.layer); the model has \(c.numLayers)")
        }
    }

    /// Row `i` of `W_dec` (the latent's decoder direction), Float32.
    public func decoderRow(_ i: Int) throws -> [Float] {
        guard (0..<config.dSae).contains(i) else {
            throw SAEError.badLatent("latent \(i) of \(folder.path) is outside 0..<\(config.dSae)")
        }
        let info = try file.tensorInfo("W_dec"), dtype = info.floatType ?? .f32, n = config.dIn
        let raw = try file.rawBytes("W_dec")
        return [Float](unsafeUninitializedCapacity: n) { buf, count in
            if let src = raw.baseAddress, let dst = buf.baseAddress {
                DTypeConversion.toFloats(src + i * n * dtype.byteSize, dtype: dtype, count: n, into: dst)
            }
            count = n
        }
    }

    /// The latents' activations `f(x)` of `rows` inputs `x` (`rows × d_in`): `rows × d_sae`.
    public func encode(_ x: [Float], rows: Int) -> [Float] {
        let d = config.dIn, m = config.dSae
        guard rows > 0 else { return [] }
        var input = x
        if config.applyBDecToInput {
            for r in 0..<rows { for j in 0..<d { input[r * d + j] -= decoderBias[j] } }
        }
        let xt = backend.upload(input, rows: rows), pre = backend.tensor(rows: rows, cols: m)
        backend.linearInputGradient(xt, rows: 0..<rows, dyColumn: 0, weight: encoder, out: pre, column: 0, accumulate: false)
        var f = backend.read(pre)
        for r in 0..<rows {
            f.withUnsafeMutableBufferPointer { all in activate(UnsafeMutableBufferPointer(rebasing: all[(r * m)..<((r + 1) * m)])) }
        }
        return f
    }

    /// `W_dec[i]·g_t` for every latent i and row t of `g` (`rows × d_in`): `rows × d_sae`.
    public func decoderProjections(_ g: [Float], rows: Int) -> [Float] {
        guard rows > 0 else { return [] }
        let gt = backend.upload(g, rows: rows), out = backend.tensor(rows: rows, cols: config.dSae)
        backend.linear(gt, rows: 0..<rows, xColumn: 0, weight: decoder, bias: nil, out: out, column: 0)
        return backend.read(out)
    }

    /// `pre + b_enc`, then the architecture's activation, in place on one row.
    private func activate(_ row: UnsafeMutableBufferPointer<Float>) {
        for i in row.indices { row[i] += encoderBias[i] }
        switch config.architecture {
        case .standard:
            for i in row.indices { row[i] = max(row[i], 0) }
        case .jumpReLU:
            let t = threshold ?? []
            for i in row.indices { row[i] = row[i] > t[i] ? max(row[i], 0) : 0 }
        case .topK(let k):
            // The k largest (ties to the lower index), ReLU'd; the rest 0.
            let keep = Set(row.indices.sorted { row[$0] > row[$1] || (row[$0] == row[$1] && $0 < $1) }.prefix(k))
            for i in row.indices { row[i] = keep.contains(i) ? max(row[i], 0) : 0 }
        }
    }
}
