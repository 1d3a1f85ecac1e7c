import Foundation
import Models

/// The settings of an SAELens SAE folder's `cfg.json`, read as SAELens 6 reads them
/// (`SAE.load_from_disk`, with `handle_pre_6_0_config` for files older than 6.0):
///
/// - SAELens 6 (`sae_lens_version` ≥ 6 at the top level or under `metadata`): `architecture`, `d_in`,
///   `d_sae`, `apply_b_dec_to_input` (default true), `normalize_activations`, `reshape_activations`,
///   `k` and `rescale_acts_by_decoder_norm` (topk), the hook in `metadata.hook_name`.
/// - Older files: the hook in `hook_name` or `hook_point`, `architecture` defaulting to `standard`,
///   `activation_fn` (or `activation_fn_str`) `topk` with `activation_fn_kwargs.k` meaning topk,
///   `normalize_activations` a boolean (true = `expected_average_only_in`).
public struct SAEConfig: Sendable, Equatable {
    public enum Architecture: Sendable, Equatable {
        /// `relu(pre)`.
        case standard
        /// `relu(pre)·(pre > threshold)`.
        case jumpReLU
        /// `relu` of the `k` largest pre-activations, 0 elsewhere.
        case topK(Int)
    }

    public var architecture: Architecture
    public var dIn: Int
    public var dSae: Int
    /// `x − b_dec` is encoded when true.
    public var applyBDecToInput: Bool
    /// The TransformerLens hook name, e.g. `blocks.12.hook_resid_post`.
    public var hookName: String
    public var layer: Int
    /// `residPre`, `residMid` or `residPost`.
    public var point: HookPoint
    /// The SAELens version that wrote the file, when it says.
    public var version: String?

    /// Reads `cfg.json` of `folder`.
    public static func read(folder: URL) throws -> SAEConfig {
        let url = folder.appendingPathComponent("cfg.json")
        guard FileManager.default.fileExists(atPath: url.path) else { throw SAEError.missingFile(folder: folder.path, file: "cfg.json") }
        let r = try ConfigReader(contentsOf: url), path = url.path
        let meta = try r.optionalObject("metadata")
        let version = try r.optionalString("sae_lens_version") ?? meta?.optionalString("sae_lens_version")
        let major = version.flatMap { Int($0.split(separator: ".").first ?? "") }
        let legacy = major.map { $0 < 6 } ?? true
        func fail(_ key: String, _ reason: String) -> SAEError { .badConfig(path: path, key: key, reason: reason) }

        guard let hook = try meta?.optionalString("hook_name") ?? r.optionalString("hook_name") ?? r.optionalString("hook_point") else {
            throw fail(legacy ? "hook_name" : "metadata.hook_name", "missing (the hook the SAE reads, e.g. blocks.12.hook_resid_post)")
        }
        guard let parsed = HookPoint.parse(hook), let layer = parsed.layer, layer >= 0 else {
            throw SAEError.unsupported(path: path, what: "hook '\(hook)': Steer knows blocks.L.hook_resid_pre, hook_resid_mid and hook_resid_post")
        }
        guard [.residPre, .residMid, .residPost].contains(parsed.point) else {
            throw SAEError.unsupported(path: path, what: "hook '\(hook)': SAEs are read on the residual stream only (hook_resid_pre, hook_resid_mid, hook_resid_post)")
        }
        for (reader, key) in [(meta, "hook_head_index"), (r, "hook_head_index"), (r, "hook_point_head_index")] where reader?.has(key) == true {
            throw SAEError.unsupported(path: path, what: "'\(key)' (SAEs of one attention head)")
        }
        if let reshape = try r.optionalString("reshape_activations"), reshape != "none" {
            throw SAEError.unsupported(path: path, what: "reshape_activations '\(reshape)'")
        }
        let normalize: String
        if let flag = try? r.optionalBool("normalize_activations") {
            normalize = flag ? "expected_average_only_in" : "none"
        } else {
            normalize = try r.optionalString("normalize_activations") ?? "none"
        }
        guard normalize == "none" else {
            throw SAEError.unsupported(path: path, what: "normalize_activations '\(normalize)' (only 'none' is implemented; fold the scaling into the weights first)")
        }
        if try r.optionalBool("rescale_acts_by_decoder_norm") == true {
            throw SAEError.unsupported(path: path, what: "rescale_acts_by_decoder_norm true")
        }
        if try r.optionalBool("finetuning_scaling_factor") == true {
            throw SAEError.unsupported(path: path, what: "finetuning_scaling_factor true")
        }

        var name = try r.optionalString("architecture") ?? (legacy ? "standard" : "")
        var k = try r.optionalInt("k")
        let activation = try r.optionalString("activation_fn") ?? r.optionalString("activation_fn_str")
        if legacy, activation == "topk", let kk = try r.optionalObject("activation_fn_kwargs")?.optionalInt("k") {
            name = "topk"; k = kk
        }
        let architecture: Architecture
        switch name {
        case "standard": architecture = .standard
        case "jumprelu": architecture = .jumpReLU
        case "topk":
            guard let k, k > 0 else { throw fail("k", "a topk SAE needs a positive k") }
            architecture = .topK(k)
        case "": throw fail("architecture", "missing")
        default:
            throw SAEError.unsupported(path: path, what: "architecture '\(name)' (supported: standard, jumprelu, topk)")
        }
        let config = SAEConfig(architecture: architecture, dIn: try r.positiveInt("d_in"), dSae: try r.positiveInt("d_sae"),
                               applyBDecToInput: try r.optionalBool("apply_b_dec_to_input") ?? true, hookName: hook, layer: layer,
                               point: parsed.point, version: version)
        if case .topK(let k) = architecture, k > config.dSae { throw fail("k", "\(k) is more than d_sae \(config.dSae)") }
        return config
    }
}
