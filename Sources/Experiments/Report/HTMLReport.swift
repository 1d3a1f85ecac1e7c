import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A card of a side-by-side comparison, e.g. the baseline or ablated completion of one prompt.
public struct ComparisonCard: Sendable, Equatable {
    /// How the card's tag is coloured.
    public enum Tone: String, Sendable { case neutral, good, bad, info }

    public var title: String
    /// The body text; kept as written (line breaks preserved, long lines wrapped).
    public var text: String
    /// A short badge such as "refused" or "complied".
    public var tag: String?
    public var tone: Tone

    public init(title: String, text: String, tag: String? = nil, tone: Tone = .neutral) {
        self.title = title
        self.text = text
        self.tag = tag
        self.tone = tone
    }
}

/// Why a report could not be written.
public enum ReportError: Error, Equatable, Sendable, CustomStringConvertible {
    case write(path: String, reason: String)

    public var description: String {
        switch self {
        case .write(let path, let reason): return "\(path): cannot write report (\(reason))"
        }
    }
}

/// A self-contained HTML page (inline CSS and SVG, no JavaScript, works offline) built section by
/// section. All text passed in is escaped; only chart SVG from this module is inserted as markup.
///
///     var report = HTMLReport(title: "Refusal direction — Qwen")
///     report.heading("Candidates")
///     report.chart(HeatMap(values: scores).svg(), caption: "Refusal score after ablation")
///     try report.write(to: url)
public struct HTMLReport: Sendable {
    enum Block: Sendable, Equatable {
        case heading(String, level: Int, anchor: String)
        case paragraph(String)
        case keyValues([String], [String], caption: String?)
        case table(columns: [String], rows: [[String]], caption: String?)
        case preformatted(String, caption: String?)
        case comparison(prompt: String?, cards: [ComparisonCard])
        case chart(svg: String, caption: String?)
    }

    public var title: String
    public var subtitle: String?
    /// Small print at the bottom (e.g. tool version, command line, date).
    public var footer: String?
    /// Add a table of contents of the level-2 headings when there are at least two.
    public var tableOfContents: Bool = true
    private(set) var blocks: [Block] = []

    public init(title: String, subtitle: String? = nil, footer: String? = nil) {
        self.title = title
        self.subtitle = subtitle
        self.footer = footer
    }

    /// A section heading; level 2 (default) to 4. Level-2 headings get anchors and a contents entry.
    public mutating func heading(_ text: String, level: Int = 2) {
        let used = blocks.filter { if case .heading = $0 { return true } else { return false } }.count
        blocks.append(.heading(text, level: min(max(level, 2), 4), anchor: "s\(used + 1)"))
    }

    /// A paragraph of plain text (escaped; line breaks kept).
    public mutating func paragraph(_ text: String) { blocks.append(.paragraph(text)) }

    /// A two-column key–value table, in the given order.
    public mutating func keyValues(_ pairs: [(String, String)], caption: String? = nil) {
        blocks.append(.keyValues(pairs.map(\.0), pairs.map(\.1), caption: caption))
    }

    /// A two-column key–value table from a literal, e.g. `["model": name, "layer": "14"]`.
    public mutating func keyValues(_ pairs: KeyValuePairs<String, String>, caption: String? = nil) {
        keyValues(pairs.map { ($0.key, $0.value) }, caption: caption)
    }

    /// A data table; short rows are padded. Columns whose cells are all numbers are right-aligned.
    public mutating func table(columns: [String], rows: [[String]], caption: String? = nil) {
        blocks.append(.table(columns: columns, rows: rows, caption: caption))
    }

    /// Monospaced text (wrapped, whitespace kept), e.g. a rendered prompt or a command line.
    public mutating func preformatted(_ text: String, caption: String? = nil) {
        blocks.append(.preformatted(text, caption: caption))
    }

    /// Cards side by side (wrapping on narrow screens), optionally under the prompt they answer.
    public mutating func comparison(prompt: String? = nil, cards: [ComparisonCard]) {
        blocks.append(.comparison(prompt: prompt, cards: cards))
    }

    /// A chart from `HeatMap`, `GroupedBarChart` or `LineChart` (`.svg()`), with an optional caption.
    public mutating func chart(_ svg: String, caption: String? = nil) {
        blocks.append(.chart(svg: svg, caption: caption))
    }

    /// The whole page.
    public func render() -> String {
        var html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        html += "<title>\(HTML.escape(title))</title>\n<style>\n\(Self.css)</style>\n</head>\n<body>\n<main>\n"
        html += "<header>\n<h1>\(HTML.escape(title))</h1>\n"
        if let subtitle { html += "<p class=\"subtitle\">\(HTML.escape(subtitle))</p>\n" }
        html += "</header>\n"
        let sections = blocks.compactMap { block -> (String, String)? in
            if case .heading(let text, 2, let anchor) = block { return (text, anchor) }
            return nil
        }
        if tableOfContents && sections.count >= 2 {
            html += "<nav class=\"toc\"><ol>\n"
            for (text, anchor) in sections { html += "<li><a href=\"#\(anchor)\">\(HTML.escape(text))</a></li>\n" }
            html += "</ol></nav>\n"
        }
        for block in blocks { html += Self.render(block) }
        if let footer { html += "<footer>\(HTML.escape(footer))</footer>\n" }
        return html + "</main>\n</body>\n</html>\n"
    }

    /// Writes the page atomically: to a temporary file in the same folder, then renamed over `url`.
    public func write(to url: URL) throws {
        let folder = url.deletingLastPathComponent()
        let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        do {
            try Data(render().utf8).write(to: temporary)
        } catch {
            throw ReportError.write(path: url.path, reason: error.localizedDescription)
        }
        guard rename(temporary.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw ReportError.write(path: url.path, reason: reason)
        }
    }

    private static func caption(_ text: String?) -> String {
        text.map { "<figcaption>\(HTML.escape($0))</figcaption>\n" } ?? ""
    }

    private static func render(_ block: Block) -> String {
        switch block {
        case .heading(let text, let level, let anchor):
            return "<h\(level) id=\"\(anchor)\">\(HTML.escape(text))</h\(level)>\n"
        case .paragraph(let text):
            return "<p>\(HTML.escape(text))</p>\n"
        case .keyValues(let keys, let values, let caption):
            var html = "<figure class=\"kv\">\n\(Self.caption(caption))<table class=\"kv\">\n"
            for (key, value) in zip(keys, values) {
                html += "<tr><th scope=\"row\">\(HTML.escape(key))</th><td>\(HTML.escape(value))</td></tr>\n"
            }
            return html + "</table>\n</figure>\n"
        case .table(let columns, let rows, let caption):
            let width = max(columns.count, rows.map(\.count).max() ?? 0)
            let padded = rows.map { $0 + Array(repeating: "", count: width - $0.count) }
            let numeric = (0..<width).map { c in
                !padded.isEmpty && padded.allSatisfy { Double($0[c].replacingOccurrences(of: "%", with: "")) != nil || $0[c].isEmpty }
            }
            func cell(_ tag: String, _ text: String, _ c: Int) -> String {
                "<\(tag)\(numeric[c] ? " class=\"num\"" : "")>\(HTML.escape(text))</\(tag)>"
            }
            var html = "<figure class=\"data\">\n\(Self.caption(caption))<div class=\"scroll\"><table class=\"data\">\n"
            if !columns.isEmpty {
                let header = (0..<width).map { cell("th", $0 < columns.count ? columns[$0] : "", $0) }.joined()
                html += "<thead><tr>\(header)</tr></thead>\n"
            }
            html += "<tbody>\n"
            for row in padded { html += "<tr>" + row.indices.map { cell("td", row[$0], $0) }.joined() + "</tr>\n" }
            return html + "</tbody>\n</table></div>\n</figure>\n"
        case .preformatted(let text, let caption):
            return "<figure class=\"pre\">\n\(Self.caption(caption))<pre>\(HTML.escape(text))</pre>\n</figure>\n"
        case .comparison(let prompt, let cards):
            var html = "<section class=\"comparison\">\n"
            if let prompt { html += "<div class=\"prompt\"><span class=\"label\">Prompt</span>\(HTML.escape(prompt))</div>\n" }
            html += "<div class=\"cards\">\n"
            for card in cards {
                html += "<article class=\"card\">\n<h4>\(HTML.escape(card.title))"
                if let tag = card.tag { html += " <span class=\"tag \(card.tone.rawValue)\">\(HTML.escape(tag))</span>" }
                html += "</h4>\n<div class=\"body\">\(HTML.escape(card.text))</div>\n</article>\n"
            }
            return html + "</div>\n</section>\n"
        case .chart(let svg, let caption):
            return "<figure class=\"chart\">\n\(svg)\n\(Self.caption(caption))</figure>\n"
        }
    }

    static let css = """
    :root { color-scheme: light; }
    body { margin: 0; background: #f6f7f9; color: #1d2330; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
    main { max-width: 1000px; margin: 0 auto; padding: 24px 28px 48px; background: #fff; min-height: 100vh; box-sizing: border-box; }
    header { border-bottom: 2px solid #e3e6eb; margin-bottom: 18px; }
    h1 { font-size: 26px; margin: 8px 0 4px; }
    .subtitle { color: #5a6270; margin: 0 0 12px; }
    h2 { font-size: 20px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 1px solid #e3e6eb; }
    h3 { font-size: 17px; margin: 24px 0 8px; }
    h4 { font-size: 15px; margin: 16px 0 6px; }
    p { margin: 8px 0; white-space: pre-line; }
    nav.toc { background: #f3f5f8; border-radius: 6px; padding: 8px 16px; display: inline-block; }
    nav.toc ol { margin: 4px 0; padding-left: 20px; }
    a { color: #0b62b0; }
    figure { margin: 14px 0; }
    figcaption { color: #5a6270; font-size: 13px; margin: 4px 0 6px; }
    .scroll { overflow-x: auto; }
    table { border-collapse: collapse; font-size: 14px; }
    table.kv th { text-align: left; font-weight: 600; color: #3b4352; padding: 3px 18px 3px 0; vertical-align: top; white-space: nowrap; }
    table.kv td { padding: 3px 0; overflow-wrap: anywhere; }
    table.data th, table.data td { padding: 5px 10px; border-bottom: 1px solid #e6e8ec; text-align: left; vertical-align: top; }
    table.data thead th { background: #eef1f5; border-bottom: 2px solid #d5dae1; }
    table.data tbody tr:nth-child(even) { background: #fafbfc; }
    table.data .num { text-align: right; font-variant-numeric: tabular-nums; }
    pre { background: #f3f5f8; border: 1px solid #e3e6eb; border-radius: 6px; padding: 10px 12px; font: 13px/1.45 ui-monospace, "SF Mono", Menlo, Consolas, monospace; white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; }
    figure.chart svg { max-width: 100%; height: auto; display: block; }
    .comparison { margin: 16px 0 22px; }
    .comparison .prompt { background: #f3f5f8; border-left: 4px solid #8a94a6; padding: 8px 12px; white-space: pre-wrap; overflow-wrap: anywhere; border-radius: 0 6px 6px 0; }
    .comparison .label { display: block; font-size: 12px; font-weight: 600; color: #5a6270; text-transform: uppercase; letter-spacing: .04em; }
    .cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 12px; margin-top: 10px; }
    .card { border: 1px solid #dfe3e9; border-radius: 8px; padding: 4px 14px 12px; background: #fff; min-width: 0; }
    .card h4 { margin: 8px 0 6px; }
    .card .body { white-space: pre-wrap; overflow-wrap: anywhere; font-size: 14px; }
    .tag { font-size: 12px; font-weight: 600; border-radius: 10px; padding: 1px 8px; margin-left: 6px; vertical-align: 1px; }
    .tag.neutral { background: #e9ecf1; color: #3b4352; }
    .tag.good { background: #dcf3e3; color: #17663a; }
    .tag.bad { background: #fbe1df; color: #a3261b; }
    .tag.info { background: #dfeefb; color: #0b4f8a; }
    footer { margin-top: 40px; color: #7a8290; font-size: 12px; border-top: 1px solid #e3e6eb; padding-top: 8px; white-space: pre-line; }
    @media print { body { background: #fff; } main { max-width: none; } }

    """
}
