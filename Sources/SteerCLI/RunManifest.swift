import Experiments
import Foundation
import ModelFormats

/// Provenance for a run folder's `config.json`: the tool version, the command line, the model files'
/// SHA-256 (cached by size and modification time so a resumed run does not hash again).
enum RunManifest {
    struct FileHash: Codable {
        var name: String
        var size: Int
        var modified: Double
        var sha256: String
    }

    /// SHA-256 of the model's config and weight files.
    static func modelHashes(_ dir: URL, cacheIn run: URL) throws -> [FileHash] {
        let cacheURL = run.appendingPathComponent("cache/model-files.json")
        let cached = (try? JSONDecoder().decode([FileHash].self, from: Data(contentsOf: cacheURL))) ?? []
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter {
            $0.hasSuffix(".safetensors") || $0.hasSuffix(".json") || $0 == "qwen.tiktoken" || $0.hasSuffix(".jinja")
        }.sorted()
        var out: [FileHash] = []
        for n in names {
            let u = dir.appendingPathComponent(n)
            let attrs = try FileManager.default.attributesOfItem(atPath: u.path)
            let size = (attrs[.size] as? NSNumber)?.intValue ?? 0
            let modified = (attrs[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            if let c = cached.first(where: { $0.name == n && $0.size == size && $0.modified == modified }) {
                out.append(c)
                continue
            }
            out.append(FileHash(name: n, size: size, modified: modified, sha256: try sha256(of: u)))
        }
        let data = try JSONEncoder().encode(out)
        try FileManager.default.createDirectory(at: cacheURL.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: cacheURL, options: .atomic)
        return out
    }

    /// Streams a file through SHA-256.
    static func sha256(of url: URL) throws -> String {
        // Only regular files: a FIFO in the model folder would block the open forever.
        let (fd, _) = try RegularFile.open(url.path)
        let h = FileHandle(fileDescriptor: fd, closeOnDealloc: false)
        defer { close(fd) }
        var sha = SHA256()
        while let chunk = try h.read(upToCount: 1 << 22), !chunk.isEmpty { sha.update(chunk) }
        return sha.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// One key for all model files.
    static func combinedHash(_ files: [FileHash]) -> String {
        var sha = SHA256()
        for f in files { sha.update(Array("\(f.name):\(f.sha256)\n".utf8)) }
        return sha.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
