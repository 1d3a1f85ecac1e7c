import Foundation

/// Where a checkpoint keeps the tensors a family declares. Families declare the names of a plain
/// text checkpoint (`model.layers.0.self_attn.q_proj.weight`, `lm_head.weight`); a multimodal
/// checkpoint nests the text model under a prefix and carries towers Steer does not run (Gemma-3's
/// vision tower and projector), which are skipped by name: never loaded, never an error, copied
/// byte for byte by an export.
///
/// Loading, validation against the weights, `steer info` and the export all translate names through
/// the layout, so errors name the tensors as the files do.
public struct CheckpointLayout: Sendable, Equatable {
    /// A declared-name prefix and the prefix the checkpoint stores it under; the first match wins.
    public struct Rename: Sendable, Equatable {
        public var declared: String
        public var stored: String
        public init(declared: String, stored: String) { self.declared = declared; self.stored = stored }
    }

    /// Name prefixes the checkpoint stores differently (empty: names as declared).
    public var renames: [Rename]
    /// Stored-name prefixes of parts that are not part of the language model (skipped, not loaded).
    public var skippedPrefixes: [String]
    /// What the skipped parts are, for `steer info` ("vision tower and multimodal projector").
    public var skippedDescription: String

    public init(renames: [Rename] = [], skippedPrefixes: [String] = [], skippedDescription: String = "") {
        self.renames = renames; self.skippedPrefixes = skippedPrefixes; self.skippedDescription = skippedDescription
    }

    /// Names as declared, nothing skipped (every text-only checkpoint).
    public static let plain = CheckpointLayout()

    /// The stored name of a declared tensor name.
    public func stored(_ declared: String) -> String {
        for r in renames where declared.hasPrefix(r.declared) { return r.stored + declared.dropFirst(r.declared.count) }
        return declared
    }

    /// Whether a stored name belongs to a skipped part.
    public func isSkipped(_ stored: String) -> Bool { skippedPrefixes.contains { stored.hasPrefix($0) } }

    /// The stored names of `names` that are skipped.
    public func skipped(in names: [String]) -> [String] { names.filter(isSkipped) }
}

extension ModelFamily {
    /// The layout `names` (a checkpoint's tensor names) use for this family.
    public static func layout(of source: TensorSource) -> CheckpointLayout { checkpointLayout(names: source.tensorNames) }
}
