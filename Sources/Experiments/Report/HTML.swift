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

    /// `value` to `digits` significant digits, in scientific notation below 10⁻³ (so that small values such
    /// as KL divergences keep their digits instead of reading 0.00): 0.0061, 1.2e-5, 3.5, 120.
    public static func significant(_ value: Double, digits: Int = 2) -> String {
        guard value.isFinite, value != 0 else { return value == 0 ? "0" : number(value) }
        let digits = max(1, min(digits, 12))
        let exponent = Int(floor(log10(abs(value))))
        if exponent < -3 {
            let text = String(format: "%.\(digits - 1)e", value)   // "1.2e-05"
            guard let e = text.firstIndex(of: "e"), let power = Int(text[text.index(after: e)...]) else { return text }
            return String(text[..<e]) + "e\(power)"
        }
        return number(value, decimals: max(0, digits - 1 - exponent))
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
