import Foundation
import ModelFormats
import Models

/// Resolving and describing the model folder a command was given.
enum ModelDirectory {
    /// The folder as a URL, or a usage error when it is missing or not a folder.
    static func url(_ path: String?) throws -> URL {
        guard let path, !path.isEmpty else { throw UsageError("missing model folder") }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw ModelError.missingFile(path)
        }
        guard isDir.boolValue else { throw ModelError.badInput("\(path) is not a folder") }
        return URL(fileURLWithPath: path, isDirectory: true)
    }

    /// Where the chat template comes from (`chat_template.jinja` or `tokenizer_config.json`), if anywhere.
    static func chatTemplateSource(_ dir: URL) -> String? {
        let jinja = dir.appendingPathComponent("chat_template.jinja")
        if FileManager.default.fileExists(atPath: jinja.path) { return "chat_template.jinja" }
        let cfg = dir.appendingPathComponent("tokenizer_config.json")
        if let data = try? RegularFile.read(cfg, limit: ConfigReader.maxFileSize),
           let obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any], obj["chat_template"] != nil {
            return "tokenizer_config.json"
        }
        return nil
    }
}

extension ModelDirectory {
    /// Total bytes of the folder's `*.safetensors` files.
    static func weightFileBytes(_ dir: URL) -> Int {
        let files = (try? FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: [.fileSizeKey])) ?? []
        return files.filter { $0.pathExtension == "safetensors" }
            .reduce(0) { $0 + (((try? $1.resourceValues(forKeys: [.fileSizeKey]))?.fileSize) ?? 0) }
    }
}

extension ModelDirectory {
    /// An input file that does not exist or cannot be read.
    struct Missing: Error, CustomStringConvertible {
        let path: String
        init(_ path: String) { self.path = path }
        var description: String { "cannot read \(path): no such file or not readable" }
    }
}

extension ModelDirectory {
    /// Refuses an output location inside (or equal to) the model folder: inputs are never written to.
    static func refuseInside(_ output: URL, _ input: URL) throws {
        let o = output.standardizedFileURL.resolvingSymlinksInPath().path
        let i = input.standardizedFileURL.resolvingSymlinksInPath().path
        if o == i || o.hasPrefix(i.hasSuffix("/") ? i : i + "/") {
            throw UsageError("the output \(output.path) is inside the model folder \(input.path); choose another place")
        }
    }
}
