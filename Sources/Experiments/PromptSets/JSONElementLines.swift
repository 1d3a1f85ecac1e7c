import Foundation

/// Finds the line on which each element of a top-level JSON array starts, so that errors about
/// JSON rows can name a line. Assumes the text already parsed as JSON.
enum JSONElementLines {
    /// 1-based start lines of the top-level array's elements (empty when the text is not an array).
    static func topLevel(_ text: String) -> [Int] {
        var lines: [Int] = []
        var line = 1
        var depth = 0
        var inString = false
        var escaped = false
        var expectingValue = false
        for byte in text.utf8 {
            if byte == 0x0A { line += 1 }
            if inString {
                if escaped { escaped = false } else if byte == 0x5C { escaped = true } else if byte == 0x22 { inString = false }
                continue
            }
            let isSpace = byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
            if expectingValue && !isSpace && byte != 0x5D {
                lines.append(line)
                expectingValue = false
            }
            switch byte {
            case 0x22: inString = true
            case 0x5B, 0x7B:
                depth += 1
                if depth == 1 && byte == 0x5B { expectingValue = true }
            case 0x5D, 0x7D: depth -= 1
            case 0x2C: if depth == 1 { expectingValue = true }
            default: break
            }
        }
        return lines
    }
}
