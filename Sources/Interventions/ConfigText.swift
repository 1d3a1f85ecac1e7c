import Foundation

/// Edits of `config.json` text that keep every other byte (layout, number spellings) as it was.
enum ConfigText {
    /// `text` without the top-level `key` and its value (and the comma that separated it), checked by
    /// parsing: the result must be the same object minus that key. Unchanged when the key is absent.
    static func removingTopLevelKey(_ key: String, from text: String, path: String) throws -> String {
        func object(_ s: String) throws -> [String: Any] {
            guard let o = try? JSONSerialization.jsonObject(with: Data(s.utf8)) as? [String: Any] else {
                throw InterventionError.unsupportedModel(path: path, reason: "not a JSON object")
            }
            return o
        }
        var original = try object(text)
        guard original[key] != nil else { return text }
        let bytes = Array(text.utf8)
        guard let (start, end) = topLevelMember(key, in: bytes) else {
            throw InterventionError.unsupportedModel(path: path, reason: "could not find the top-level key '\(key)'")
        }
        // Take the comma after the member (and the rest of its line, and its indentation), or else the
        // comma before it (the member was the last).
        var from = start, to = end
        var j = skipSpace(bytes, end)
        if j < bytes.count, bytes[j] == UInt8(ascii: ",") {
            to = j + 1
            while to < bytes.count, bytes[to] == 0x20 || bytes[to] == 0x09 { to += 1 }
            if to < bytes.count, bytes[to] == 0x0A { to += 1 }
            while from > 0, bytes[from - 1] == 0x20 || bytes[from - 1] == 0x09 { from -= 1 }
        } else {
            j = start - 1
            while j >= 0, isSpace(bytes[j]) { j -= 1 }
            if j >= 0, bytes[j] == UInt8(ascii: ",") { from = j }
        }
        let out = String(decoding: bytes[..<from] + bytes[to...], as: UTF8.self)
        original[key] = nil
        // Compared as canonical JSON (NSDictionary equality does not see into Swift arrays on Linux).
        func canonical(_ o: [String: Any]) -> Data? { try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]) }
        guard let edited = canonical(try object(out)), edited == canonical(original) else {
            throw InterventionError.unsupportedModel(path: path, reason: "removing '\(key)' changed other keys")
        }
        return out
    }

    private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }

    private static func skipSpace(_ b: [UInt8], _ i: Int) -> Int {
        var i = i
        while i < b.count, isSpace(b[i]) { i += 1 }
        return i
    }

    /// Byte range `[start, end)` of the member `"key": value` directly inside the top-level object.
    private static func topLevelMember(_ key: String, in b: [UInt8]) -> (Int, Int)? {
        var depth = 0, i = 0
        while i < b.count {
            switch b[i] {
            case UInt8(ascii: "\""):
                let end = stringEnd(b, i)
                if depth == 1, String(decoding: b[(i + 1)..<(end - 1)], as: UTF8.self) == key {
                    let colon = skipSpace(b, end)
                    guard colon < b.count, b[colon] == UInt8(ascii: ":") else { break }
                    return (i, valueEnd(b, skipSpace(b, colon + 1)))
                }
                i = end
                continue
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            default: break
            }
            i += 1
        }
        return nil
    }

    /// Index just past the string starting at `i` (a quote).
    private static func stringEnd(_ b: [UInt8], _ i: Int) -> Int {
        var j = i + 1
        while j < b.count, b[j] != UInt8(ascii: "\"") { j += b[j] == UInt8(ascii: "\\") ? 2 : 1 }
        return min(j + 1, b.count)
    }

    /// Index just past the JSON value starting at `i`.
    private static func valueEnd(_ b: [UInt8], _ i: Int) -> Int {
        var depth = 0, j = i
        while j < b.count {
            switch b[j] {
            case UInt8(ascii: "\""):
                j = stringEnd(b, j)
                if depth == 0 { return j }
                continue
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if depth == 0 { return j }
                depth -= 1
                if depth == 0 { return j + 1 }
            case UInt8(ascii: ","):
                if depth == 0 { return j }
            default: break
            }
            j += 1
        }
        return j
    }
}
