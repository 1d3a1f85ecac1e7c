import Foundation

/// Escaping and number formatting shared by the HTML report and its SVG charts.
public enum HTML {
    /// Escapes `&`, `<`, `>`, `"` and `'` so that text is safe in element content and in
    /// double- or single-quoted attribute values (HTML and SVG alike).
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    /// `value` with `decimals` digits after the point; "NaN"/"inf"/"-inf" for
    /// non-finite values. Locale-independent.
    public static func number(_ value: Double, decimals: Int = 2) -> String {
        guard value.isFinite else { return value.isNaN ? "NaN" : (value > 0 ? "inf" : "-inf") }
        let text = String(format: "%.\(max(0, min(decimals, 12)))f", value)
        // "-0.00" for tiny negatives reads as a sign error; write it without the sign.
        return text.hasPrefix("-") && text.allSatisfy({ "-0.".contains($0) }) ? String(text.dropFirst()) : text
    }

    /// A compact number for axis ticks: no trailing zeros, at most `decimals` decimals.
    public static func compact(_ value: Double, decimals: Int = 4) -> String {
        var text = number(value, decimals: decimals)
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text == "-0" ? "0" : text
    }

    /// A coordinate for SVG markup (two decimals, trailing zeros dropped).
    static func coordinate(_ value: Double) -> String { compact(value, decimals: 2) }
}
