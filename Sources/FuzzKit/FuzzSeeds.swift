import Foundation

/// The committed fixtures the mutators start from, read once per process from the repository:
/// model folders, safetensors and GGUF files, tokenizers, chat templates with conversations, and
/// prompt files (`Tests/Fixtures/…` and `data/prompts`).
public struct FuzzSeeds {
    /// A fixture model folder: its name under `Tests/Fixtures/models` and its JSON files.
    public struct Model {
        public var name: String
        public var config: Data
        public var generation: Data?
        /// The weight files (`*.safetensors` and the shard index), used unchanged through links.
        public var weights: [String]
    }
    /// A file with its path relative to `Tests/Fixtures`.
    public struct File { public var path: String; public var data: Data }
    /// A tokenizer folder: file name → contents.
    public struct TokenizerFolder { public var name: String; public var files: [String: Data] }

    public var fixtures: URL
    public var models: [Model] = []
    /// Single safetensors files (formats fixtures and model weights).
    public var safetensors: [File] = []
    /// The sharded fixture folder: file name → contents.
    public var sharded: [String: Data] = [:]
    public var tokenizers: [TokenizerFolder] = []
    public var templates: [File] = []
    /// Distinct `messages` lists of the template fixtures, as JSON.
    public var conversations: [Data] = []
    public var gguf: [File] = []
    /// Prompt files (name with extension → contents).
    public var prompts: [File] = []

    /// Reads the seeds under `root` (the repository). Throws when a folder is missing, so a run
    /// from the wrong place fails at once instead of fuzzing nothing.
    public init(root: URL) throws {
        fixtures = root.appendingPathComponent("Tests/Fixtures")
        let fm = FileManager.default
        func list(_ dir: URL) throws -> [String] {
            do { return try fm.contentsOfDirectory(atPath: dir.path).filter { !$0.hasPrefix(".") }.sorted() } catch {
                throw FuzzError.io("seed folder \(dir.path) is missing: run from the repository or pass --root")
            }
        }
        func read(_ url: URL) throws -> Data { try Data(contentsOf: url) }
        let modelsDir = fixtures.appendingPathComponent("models")
        for name in try list(modelsDir) {
            let dir = modelsDir.appendingPathComponent(name)
            guard fm.fileExists(atPath: dir.appendingPathComponent("config.json").path) else { continue }
            let gen = dir.appendingPathComponent("generation_config.json")
            let weights = try list(dir).filter {
                ($0.hasSuffix(".safetensors") && $0 != "reference.safetensors") || $0.hasSuffix(".safetensors.index.json")
            }
            models.append(Model(name: name, config: try read(dir.appendingPathComponent("config.json")),
                                generation: fm.fileExists(atPath: gen.path) ? try read(gen) : nil, weights: weights))
            for file in weights where file.hasSuffix(".safetensors") {
                safetensors.append(File(path: "models/\(name)/\(file)", data: try read(dir.appendingPathComponent(file))))
            }
        }
        let formats = fixtures.appendingPathComponent("formats")
        for name in try list(formats) {
            let url = formats.appendingPathComponent(name)
            if name.hasSuffix(".safetensors") { safetensors.append(File(path: "formats/\(name)", data: try read(url))) }
            if name.hasSuffix(".gguf") { gguf.append(File(path: "formats/\(name)", data: try read(url))) }
        }
        for name in try list(formats.appendingPathComponent("sharded")) {
            sharded[name] = try read(formats.appendingPathComponent("sharded").appendingPathComponent(name))
        }
        let tokDir = fixtures.appendingPathComponent("tokenizers")
        for name in try list(tokDir) {
            var files: [String: Data] = [:]
            for file in try list(tokDir.appendingPathComponent(name)) where file != "cases.json" {
                files[file] = try read(tokDir.appendingPathComponent(name).appendingPathComponent(file))
            }
            tokenizers.append(TokenizerFolder(name: name, files: files))
        }
        let templateDir = fixtures.appendingPathComponent("chat-templates")
        for name in try list(templateDir.appendingPathComponent("templates")) where name.hasSuffix(".jinja") {
            templates.append(File(path: "chat-templates/templates/\(name)",
                                  data: try read(templateDir.appendingPathComponent("templates").appendingPathComponent(name))))
        }
        var seen = Set<Data>()
        for name in try list(templateDir.appendingPathComponent("cases")) where name.hasSuffix(".json") {
            let data = try read(templateDir.appendingPathComponent("cases").appendingPathComponent(name))
            guard let cases = (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["cases"] as? [[String: Any]] else { continue }
            for c in cases {
                guard let m = c["messages"], let json = try? JSONSerialization.data(withJSONObject: m, options: [.sortedKeys]),
                      seen.insert(json).inserted else { continue }
                conversations.append(json)
            }
        }
        for dir in [fixtures.appendingPathComponent("promptsets"), root.appendingPathComponent("data/prompts")] {
            for name in try list(dir) where ["json", "jsonl", "csv", "txt"].contains((name as NSString).pathExtension) {
                prompts.append(File(path: name, data: try read(dir.appendingPathComponent(name))))
            }
        }
        guard !models.isEmpty, !safetensors.isEmpty, !tokenizers.isEmpty, !templates.isEmpty, !conversations.isEmpty,
              !gguf.isEmpty, !prompts.isEmpty else {
            throw FuzzError.io("\(fixtures.path) lacks some seed fixtures")
        }
    }
}
