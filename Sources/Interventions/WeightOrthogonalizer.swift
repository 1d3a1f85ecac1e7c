import Foundation
import ModelFormats
import Models
import Compute

/// Settings of a weight-orthogonalization export.
public struct AbliterationOptions: Sendable {
    /// Blocks whose output and down projections are edited (nil = all). The token embedding is
    /// edited only when the selection contains layer 0: the embedding is what `resid_pre[0]` holds,
    /// so an edit restricted to later blocks leaves it alone. Such an export equals
    /// `DirectionalAblation.matchingWeightEdit(direction:layers:)`, which then skips `resid_pre`.
    public var layers: [Int]?
    /// Projected abliteration: remove from `r` its component along this vector (the harmless mean at
    /// the direction's layer) before normalising, `r ← r − (r·ĥ) ĥ`.
    public var projectOut: [Float]?
    /// Norm-preserving edit: every vector one input unit writes into the residual stream (a row of
    /// the embedding, a column of an output/down projection, a bias) loses its component along the
    /// direction and is then rescaled to its original Euclidean norm, so only its direction changes
    /// (grimjim's "norm-preserving biprojected abliteration"). The stream still gets nothing along
    /// `r̂`, but magnitudes differ from plain orthogonalization, so this export does not equal hook ablation.
    public var normPreserving: Bool
    /// Overwrite an existing, non-empty output folder.
    public var force: Bool
    /// Per-layer strengths of the edit (heretic's peak and linear falloff): block `l`'s output and down
    /// projections become `W − s_l·û ûᵀ W`; blocks of strength 0 and the embedding are not edited.
    /// Such an export equals `DirectionalAblation.matchingWeightEdit(direction:layers:weighting:)`.
    public var weighting: LayerWeighting?
    /// Extra provenance for the weight files' `__metadata__` (keys are prefixed with `steer.`).
    public var metadata: [String: String]
    /// Write every float tensor in this dtype instead of the source's (nil = keep the source dtypes).
    /// A Float32 export of a bf16 model keeps the edit exact, so it equals hook ablation to 1e-4;
    /// a bf16 export rounds the edited weights (logit changes around 1e-2).
    public var outputDType: DType?

    public init(layers: [Int]? = nil, projectOut: [Float]? = nil, normPreserving: Bool = false, force: Bool = false,
                metadata: [String: String] = [:]) {
        self.layers = layers; self.projectOut = projectOut; self.normPreserving = normPreserving
        self.force = force; self.metadata = metadata
    }
}

/// What an export did.
public struct AbliterationReport: Sendable {
    /// Tensors whose values were changed (plus `lm_head.weight` when the head was untied).
    public var editedTensors: [String]
    /// Files written into the output folder, in order.
    public var filesWritten: [String]
    /// Source entries not copied (sub-folders, hidden files).
    public var skipped: [String]
    /// Whether a tied output head was written out as `lm_head.weight` and the config untied.
    public var untiedHead: Bool
    /// The unit direction removed (after projection, before any Gemma-2 post-norm scaling).
    public var unit: [Float]
    public var seconds: Double
}

/// Weight orthogonalization ("abliteration", SPEC §3.7): `W ← W − r̂ r̂ᵀ W` for every matrix that
/// writes into the residual stream (see `ResidualWriter`), `b ← b − (b·r̂) r̂` for their biases,
/// exported as a new model folder that loads unchanged in transformers.
///
/// - **Tied heads**: when the embedding is edited and the config ties the output head to it, the
///   original embedding is written as `lm_head.weight` (`language_model.lm_head.weight` in a published
///   multimodal folder; next to the embedding, same dtype) and
///   `tie_word_embeddings` is set to false, so the output head is unchanged.
/// - **Post-norms** (Gemma-2/3 sandwich norms, OLMo-2): the output/down projections are projected against
///   `û = normalize((o + w) ⊙ r̂)` with `w` the following post-norm's weight (`o` = 1 for Gemma's
///   `(1 + w)` norms, 0 otherwise), so that the norm's
///   output has no component along `r̂` (`DirectionalAblation.Placement.beforePostNorms`).
/// - **Files**: same tensor names, dtypes (edited values rounded to nearest even in bf16/f16), and
///   sharding (each tensor in the file of the same name; the index rewritten with the new totals);
///   a multimodal checkpoint keeps its text model's names and its other towers byte for byte (Gemma-3's
///   vision tower and projector, also when `outputDType` converts the text model);
///   every other top-level file copied byte for byte (config.json edited only to untie); the
///   edit recorded in each weight file's `__metadata__` under `steer.*` keys. Tensors are read from
///   the mapped source and edited one at a time, so memory holds one tensor in Float32 at most.
/// - **Safety**: never writes into the source folder; refuses an existing non-empty output folder
///   unless `force`; every file is written atomically.
public enum WeightOrthogonalizer {
    /// Exports `source` with `direction` removed into `output`. `progress` receives one line per file.
    @discardableResult
    public static func export(model source: URL, direction: [Float], to output: URL,
                              options: AbliterationOptions = AbliterationOptions(),
                              progress: ((String) -> Void)? = nil) throws -> AbliterationReport {
        let start = Date()
        let fm = FileManager.default
        try checkOutput(output, source: source, force: options.force)

        let (_, config) = try ModelLoader.readConfig(directory: source)
        let store = try WeightStore(folder: source)
        let tensors = try ExportSource(store: store, dtype: options.outputDType)
        let d = config.hiddenSize
        guard direction.count == d else { throw InterventionError.dimensionMismatch(what: "the direction", expected: d, actual: direction.count) }
        var r = direction
        if let h = options.projectOut {
            guard h.count == d else { throw InterventionError.dimensionMismatch(what: "the harmless mean", expected: d, actual: h.count) }
            r = try VectorMath.removingComponent(of: h, from: r, what: "the harmless mean")
        }
        let rn = VectorMath.norm(r)
        guard rn > 0, rn.isFinite else { throw InterventionError.degenerateDirection("the direction to remove") }
        let unit = r.map { Double($0) / rn }

        var layers = options.layers ?? Array(0..<config.numLayers)
        if let bad = layers.first(where: { !(0..<config.numLayers).contains($0) }) {
            throw InterventionError.layerOutOfRange(what: "--layers", layer: bad, layers: config.numLayers)
        }
        if let w = options.weighting {
            layers = layers.filter { w.strength($0) > 0 }
            guard !layers.isEmpty else { throw InterventionError.badInput("the layer weighting (\(w)) gives strength 0 to every chosen layer") }
        }
        let withEmbedding = options.weighting == nil && layers.contains(0)
        let writers = try ResidualWriter.plan(config: config, source: tensors, layers: layers, includeEmbedding: withEmbedding)
        let family = try ModelRegistry.family(for: config.modelType)
        // The embedding and head as the files name them; a multimodal checkpoint's other towers are copied untouched.
        let layout = family.layout(of: store)
        let embedName = layout.stored(family.embeddingName), headName = layout.stored(family.lmHeadName)
        let untie = withEmbedding && config.tieWordEmbeddings
        let byName = Dictionary(writers.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })

        // Which file every output tensor goes to: the source's own file (the head next to the embedding).
        var fileOf: [String: String] = [:]
        for name in tensors.names { fileOf[name] = try tensors.fileName(containing: name) }
        if untie { fileOf[headName] = try store.fileName(containing: embedName) }

        try fm.createDirectory(at: output, withIntermediateDirectories: true)
        var record: [String: String] = [
            "steer.edit": "weight orthogonalization (abliteration): W <- W - u u^T W on residual writers",
            "steer.layers": options.layers == nil && options.weighting == nil ? "all" : layers.map(String.init).joined(separator: ","),
            "steer.embedding_edited": String(withEmbedding),
            "steer.projected": String(options.projectOut != nil),
            "steer.norm_preserving": String(options.normPreserving),
            "steer.untied_head": String(untie),
            "steer.source": source.path,
        ]
        if let w = options.weighting {
            record["steer.layer_weighting"] = w.description
            record["steer.layer_strengths"] = layers.map { "\($0):\(w.strength($0))" }.joined(separator: ",")
        }
        if config.hasPostNorms { record["steer.post_norm_rule"] = "o_proj/down_proj projected against normalize((1+w_post) * r)" }
        if tensors.dequantizes { record["steer.dequantized"] = "MXFP4 *_blocks/*_scales written as \(tensors.packedDType); quantization_config removed" }
        for (k, v) in options.metadata { record["steer." + k] = v }

        var written: [String] = []
        let files = Set(fileOf.values).sorted()
        for file in files {
            let names = fileOf.filter { $0.value == file }.map(\.key).sorted()
            var meta = (try? store.file(containing: names.first(where: store.contains) ?? "").metadata) ?? [:]
            for (k, v) in record { meta[k] = v }
            var writer = SafeTensorsWriter(metadata: meta, protecting: store.inputURLs)
            for name in names {
                let sourceName = (untie && name == headName) ? embedName : name
                if tensors.isPacked(name) {
                    writer.add(name, dtype: try tensors.dtype(name), shape: try tensors.shape(name), externalBytes: try tensors.byteCount(name))
                    continue
                }
                let info = try store.info(sourceName)
                if let target = options.outputDType, info.dtype.floatType != nil, info.dtype.floatType != target, !layout.isSkipped(name) {
                    writer.add(name, floats: try store.floats(sourceName), shape: info.shape, as: target)
                } else {
                    writer.add(name, dtype: info.dtype, shape: info.shape, view: try store.rawBytes(sourceName), owner: store)
                }
            }
            let url = output.appendingPathComponent(file)
            let (header, ordered) = try writer.header(for: writer.entries, path: url.path)
            try AtomicFile.write(to: url) { out in
                try out.write(header)
                for e in ordered {
                    if let w = byName[e.name] {
                        let strength = w.layer.flatMap { options.weighting?.strength($0) } ?? 1
                        try out.write(try editedBytes(w, tensors: tensors, unit: unit, config: config, preserveNorms: options.normPreserving,
                                                      strength: strength, as: options.outputDType))
                    } else if tensors.isPacked(e.name) {
                        try out.write(DTypeConversion.bytes(try tensors.floats(e.name), as: tensors.packedDType))
                    } else if case .floats(let values) = e.payload, let target = e.dtype.floatType {
                        try out.write(DTypeConversion.bytes(values, as: target))
                    } else {
                        try withExtendedLifetime(store) { try out.write(try store.rawBytes(untie && e.name == headName ? embedName : e.name)) }
                    }
                }
            }
            written.append(file)
            progress?("wrote \(file) (\(names.filter { byName[$0] != nil }.count) edited tensors)")
        }
        if store.layout == .sharded {
            var meta = store.index?.metadata ?? [:]
            let sourceName = { (name: String) in name == headName && untie ? embedName : name }
            meta["total_size"] = .int(fileOf.keys.reduce(0) { $0 + ((try? tensors.byteCount(sourceName($1))) ?? 0) })
            if meta["total_parameters"] != nil {
                meta["total_parameters"] = .int(fileOf.keys.reduce(0) { $0 + ((try? tensors.elementCount(sourceName($1))) ?? 0) })
            }
            let index = ShardIndex(weightMap: fileOf, metadata: meta)
            try AtomicFile.write(Array(index.jsonText().utf8), to: output.appendingPathComponent(WeightStore.indexFileName))
            written.append(WeightStore.indexFileName)
        }
        let (copied, skipped) = try copyOtherFiles(from: source, to: output, weights: store.inputURLs, untie: untie,
                                                   dtype: options.outputDType, dropQuantization: tensors.dequantizes)
        written += copied
        if options.force { try removeStaleWeights(in: output, keeping: Set(written)) }
        var edited = writers.map(\.name)
        if untie { edited.append(headName) }
        return AbliterationReport(editedTensors: edited, filesWritten: written, skipped: skipped, untiedHead: untie,
                                  unit: unit.map { Float($0) }, seconds: Date().timeIntervalSince(start))
    }

    /// The edited bytes of one residual writer, in its file dtype (or `target`).
    static func editedBytes(_ w: ResidualWriter, tensors: ExportSource, unit: [Double], config: ModelConfig, preserveNorms: Bool,
                            strength: Double = 1, as target: DType? = nil) throws -> [UInt8] {
        let shape = try tensors.shape(w.name)
        guard let dtype = try tensors.dtype(w.name).floatType else {
            throw InterventionError.unsupportedModel(path: tensors.store.folder.path, reason: "tensor '\(w.name)' has dtype \(try tensors.dtype(w.name))")
        }
        var u = unit
        if let p = w.postNorm {
            u = try Orthogonalize.throughNorm(unit, weight: try tensors.floats(p), offset: config.normWeightOffset)
        }
        var values = try tensors.floats(w.name)
        switch w.kind {
        case .embedding, .rows:
            let d = shape.last ?? 1
            Orthogonalize.rows(&values, rows: values.count / max(d, 1), d: d, unit: u, preserveNorms: preserveNorms, strength: strength)
        case .projection:
            Orthogonalize.columns(&values, rows: shape[0], cols: shape[1], unit: u, preserveNorms: preserveNorms,
                                  strength: strength)
        case .bias:
            Orthogonalize.rows(&values, rows: 1, d: shape[0], unit: u, preserveNorms: preserveNorms, strength: strength)
        }
        return DTypeConversion.bytes(values, as: target ?? dtype)
    }
}
