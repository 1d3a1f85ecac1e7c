import Basics
import Compute
import Foundation
import ModelFormats

/// The folder side of an export: where it may write, which other files it copies, the config edit.
extension WeightOrthogonalizer {
    /// A path with symlinks resolved (for a path that does not exist yet, its nearest existing
    /// ancestor is resolved and the rest appended).
    static func resolved(_ url: URL) -> String {
        var existing = url.standardizedFileURL
        var rest: [String] = []
        while !FileManager.default.fileExists(atPath: existing.path), existing.path != "/" {
            rest.insert(existing.lastPathComponent, at: 0)
            existing = existing.deletingLastPathComponent()
        }
        var path = existing.resolvingSymlinksInPath().path
        for c in rest { path = (path as NSString).appendingPathComponent(c) }
        return path
    }

    /// Refuses an output folder that is the source or lies inside it, a file, or a non-empty folder without `force`.
    static func checkOutput(_ output: URL, source: URL, force: Bool) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: source.path, isDirectory: &isDir), isDir.boolValue else {
            throw InterventionError.missingFile(source.path)
        }
        let src = resolved(source), out = resolved(output)
        if out == src || out.hasPrefix(src.hasSuffix("/") ? src : src + "/") {
            throw InterventionError.outputInsideInput(output: output.path, input: source.path)
        }
        if fm.fileExists(atPath: output.path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw InterventionError.badInput("\(output.path) exists and is not a folder") }
            let entries = (try? fm.contentsOfDirectory(atPath: output.path)) ?? []
            if !entries.isEmpty && !force { throw InterventionError.outputExists(output.path) }
        }
    }

    /// Copies every top-level regular file of `source` that is not a weight file (atomically, byte
    /// for byte), editing `config.json` when the head is untied, the dtype changes or MXFP4 tensors were
    /// dequantized (`quantization_config` removed). Returns (written, skipped).
    static func copyOtherFiles(from source: URL, to output: URL, weights: [URL], untie: Bool,
                               dtype: DType? = nil, dropQuantization: Bool = false) throws -> ([String], [String]) {
        let fm = FileManager.default
        let weightNames = Set(weights.map(\.lastPathComponent) + [WeightStore.indexFileName])
        var written: [String] = [], skipped: [String] = []
        let entries = try fm.contentsOfDirectory(atPath: source.path).sorted()
        for name in entries where !weightNames.contains(name) {
            let url = source.appendingPathComponent(name)
            var isDir: ObjCBool = false
            _ = fm.fileExists(atPath: url.path, isDirectory: &isDir)
            if isDir.boolValue || name.hasPrefix(".") { skipped.append(name); continue }
            guard let data = fm.contents(atPath: url.path) else { throw InterventionError.missingFile(url.path) }
            var bytes = [UInt8](data)
            if name == "config.json" && (untie || dtype != nil || dropQuantization) {
                guard var text = String(bytes: bytes, encoding: .utf8) else {
                    throw InterventionError.unsupportedModel(path: url.path, reason: "config.json is not UTF-8")
                }
                if untie { text = try untiedConfig(text, path: url.path) }
                if let dtype { text = try retypedConfig(text, dtype: dtype) }
                if dropQuantization { text = try ConfigText.removingTopLevelKey("quantization_config", from: text, path: url.path) }
                bytes = Array(text.utf8)
            }
            try AtomicFile.write(bytes, to: output.appendingPathComponent(name))
            written.append(name)
        }
        return (written, skipped)
    }

    /// `config.json` text with its declared dtype (`torch_dtype` and `dtype`) changed to `dtype`.
    static func retypedConfig(_ text: String, dtype: DType) throws -> String {
        let name = dtype == .f32 ? "float32" : dtype == .bf16 ? "bfloat16" : "float16"
        let pattern = try NSRegularExpression(pattern: "(\"(?:torch_)?dtype\"\\s*:\\s*)\"[a-z0-9]+\"")
        return pattern.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: "$1\"\(name)\"")
    }

    /// `config.json` text with `tie_word_embeddings` set to false: every `"tie_word_embeddings": true`
    /// becomes false (layout and every other byte kept); when the top level lacks the key it is
    /// inserted as the first key. The result is checked by parsing it.
    static func untiedConfig(_ text: String, path: String) throws -> String {
        let pattern = try NSRegularExpression(pattern: "(\"tie_word_embeddings\"\\s*:\\s*)true")
        var out = pattern.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: "$1false")
        func topLevel(_ s: String) throws -> JSONValue {
            guard let obj = try? JSONValue.parse(s), obj.members != nil else {
                throw InterventionError.unsupportedModel(path: path, reason: "not a JSON object")
            }
            return obj
        }
        if try topLevel(out)["tie_word_embeddings"] == nil {
            guard let brace = out.firstIndex(of: "{") else { throw InterventionError.unsupportedModel(path: path, reason: "no JSON object") }
            let empty = try topLevel(out).members?.isEmpty ?? true
            out.insert(contentsOf: "\n  \"tie_word_embeddings\": false" + (empty ? "\n" : ","), at: out.index(after: brace))
        }
        guard try topLevel(out)["tie_word_embeddings"]?.bool == false else {
            throw InterventionError.unsupportedModel(path: path, reason: "could not set tie_word_embeddings to false")
        }
        return out
    }

    /// After a forced export: removes weight files of an earlier export that this one did not write.
    static func removeStaleWeights(in output: URL, keeping: Set<String>) throws {
        let fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: output.path)) ?? []
        where (name.hasSuffix(".safetensors") || name == WeightStore.indexFileName) && !keeping.contains(name) {
            try fm.removeItem(at: output.appendingPathComponent(name))
        }
    }
}
