import Foundation

/// Collects SVG elements for one chart; every text it writes is escaped.
struct SVGBuilder {
    let width: Double
    let height: Double
    private(set) var elements: [String] = []

    init(width: Double, height: Double) {
        self.width = width
        self.height = height
    }

    private static func f(_ v: Double) -> String { HTML.coordinate(v) }

    /// `<title>` child for a hover tooltip (no JavaScript needed).
    private static func tip(_ tooltip: String?) -> String {
        tooltip.map { "<title>\(HTML.escape($0))</title>" } ?? ""
    }

    mutating func raw(_ markup: String) { elements.append(markup) }

    mutating func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, fill: String, stroke: String? = nil,
                       strokeWidth: Double = 1, opacity: Double? = nil, cssClass: String? = nil, tooltip: String? = nil) {
        var attributes = "x=\"\(Self.f(x))\" y=\"\(Self.f(y))\" width=\"\(Self.f(max(w, 0)))\" height=\"\(Self.f(max(h, 0)))\" fill=\"\(fill)\""
        if let stroke { attributes += " stroke=\"\(stroke)\" stroke-width=\"\(Self.f(strokeWidth))\"" }
        if let opacity { attributes += " fill-opacity=\"\(Self.f(opacity))\"" }
        if let cssClass { attributes += " class=\"\(cssClass)\"" }
        if let tooltip {
            elements.append("<rect \(attributes)>\(Self.tip(tooltip))</rect>")
        } else {
            elements.append("<rect \(attributes)/>")
        }
    }

    mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String = "#333",
                       width: Double = 1, dash: String? = nil, opacity: Double? = nil, cssClass: String? = nil) {
        var attributes = "x1=\"\(Self.f(x1))\" y1=\"\(Self.f(y1))\" x2=\"\(Self.f(x2))\" y2=\"\(Self.f(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(Self.f(width))\""
        if let dash { attributes += " stroke-dasharray=\"\(dash)\"" }
        if let opacity { attributes += " stroke-opacity=\"\(Self.f(opacity))\"" }
        if let cssClass { attributes += " class=\"\(cssClass)\"" }
        elements.append("<line \(attributes)/>")
    }

    mutating func text(_ text: String, _ x: Double, _ y: Double, size: Double = 12, anchor: String = "start",
                       fill: String = "#222", bold: Bool = false, rotate: Double? = nil, baseline: String? = nil,
                       halo: Bool = false, cssClass: String? = nil, tooltip: String? = nil) {
        var attributes = "x=\"\(Self.f(x))\" y=\"\(Self.f(y))\" font-size=\"\(Self.f(size))\" text-anchor=\"\(anchor)\" fill=\"\(fill)\""
        if bold { attributes += " font-weight=\"600\"" }
        if halo { attributes += " stroke=\"#fff\" stroke-width=\"3\" stroke-linejoin=\"round\" paint-order=\"stroke\"" }
        if let baseline { attributes += " dominant-baseline=\"\(baseline)\"" }
        if let rotate { attributes += " transform=\"rotate(\(Self.f(rotate)) \(Self.f(x)) \(Self.f(y)))\"" }
        if let cssClass { attributes += " class=\"\(cssClass)\"" }
        elements.append("<text \(attributes)>\(HTML.escape(text))\(Self.tip(tooltip))</text>")
    }

    mutating func polyline(_ points: [(Double, Double)], stroke: String, width: Double = 2, dash: String? = nil) {
        guard points.count > 1 else { return }
        let list = points.map { "\(Self.f($0.0)),\(Self.f($0.1))" }.joined(separator: " ")
        var attributes = "points=\"\(list)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(Self.f(width))\" stroke-linejoin=\"round\""
        if let dash { attributes += " stroke-dasharray=\"\(dash)\"" }
        elements.append("<polyline \(attributes)/>")
    }

    mutating func polygon(_ points: [(Double, Double)], fill: String, opacity: Double, cssClass: String? = nil) {
        guard points.count > 2 else { return }
        let list = points.map { "\(Self.f($0.0)),\(Self.f($0.1))" }.joined(separator: " ")
        var attributes = "points=\"\(list)\" fill=\"\(fill)\" fill-opacity=\"\(Self.f(opacity))\" stroke=\"none\""
        if let cssClass { attributes += " class=\"\(cssClass)\"" }
        elements.append("<polygon \(attributes)/>")
    }

    mutating func circle(_ x: Double, _ y: Double, r: Double, fill: String, tooltip: String? = nil) {
        elements.append("<circle cx=\"\(Self.f(x))\" cy=\"\(Self.f(y))\" r=\"\(Self.f(r))\" fill=\"\(fill)\" stroke=\"#fff\" stroke-width=\"1\">\(Self.tip(tooltip))</circle>")
    }

    /// The finished `<svg>` element, sized in pixels and scalable through its viewBox.
    func render(title: String, cssClass: String) -> String {
        let w = Self.f(width), h = Self.f(height)
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"\(cssClass)\" width=\"\(w)\" height=\"\(h)\" viewBox=\"0 0 \(w) \(h)\" role=\"img\" aria-label=\"\(HTML.escape(title))\" font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif\">\n"
        out += "<title>\(HTML.escape(title))</title>\n"
        out += "<rect x=\"0\" y=\"0\" width=\"\(w)\" height=\"\(h)\" fill=\"#fff\"/>\n"
        for element in elements { out += element + "\n" }
        return out + "</svg>"
    }

    // MARK: Layout helpers

    /// Approximate rendered width of `text` at `size` px (for layout only).
    static func textWidth(_ text: String, size: Double = 12) -> Double { Double(text.count) * size * 0.58 }

    /// `text` cut to fit `width` px, with an ellipsis when cut.
    static func fit(_ text: String, width: Double, size: Double = 12) -> String {
        let room = max(Int(width / (size * 0.58)), 1)
        guard text.count > room else { return text }
        return room <= 1 ? "…" : String(text.prefix(room - 1)) + "…"
    }

    /// A legend row (wrapping onto more rows when needed) starting at (x, y); returns its height.
    @discardableResult
    mutating func legend(_ items: [(name: String, color: String, style: LegendStyle)], x: Double, y: Double,
                         maxWidth: Double) -> Double {
        var cx = x, cy = y
        for item in items {
            let itemWidth = 22 + Self.textWidth(item.name, size: 12) + 18
            if cx > x && cx + itemWidth > x + maxWidth {
                cx = x
                cy += 18
            }
            switch item.style {
            case .box: rect(cx, cy - 5, 14, 10, fill: item.color)
            case .line(let dash): line(cx, cy, cx + 16, cy, stroke: item.color, width: 2.5, dash: dash)
            case .band(let dash):
                rect(cx, cy - 5, 16, 10, fill: item.color, opacity: 0.2)
                line(cx, cy, cx + 16, cy, stroke: item.color, width: 2.5, dash: dash)
            }
            text(item.name, cx + 22, cy, size: 12, baseline: "middle", cssClass: "legend")
            cx += itemWidth
        }
        return cy - y + 18
    }

    enum LegendStyle {
        case box, line(dash: String?), band(dash: String?)
    }
}

/// A linear map from data values to pixels.
struct LinearScale {
    var domain: ClosedRange<Double>
    var from: Double
    var to: Double

    func callAsFunction(_ value: Double) -> Double {
        let span = domain.upperBound - domain.lowerBound
        guard span > 0 else { return (from + to) / 2 }
        return from + (value - domain.lowerBound) / span * (to - from)
    }

    /// Nice round tick values (steps of 1, 2, 2.5 or 5 × 10ᵏ) inside the domain, about `count` of them.
    static func ticks(_ domain: ClosedRange<Double>, count: Int = 5) -> [Double] {
        let span = domain.upperBound - domain.lowerBound
        guard span > 0, span.isFinite else { return [domain.lowerBound] }
        let step = niceStep(span / Double(max(count - 1, 1)))
        let first = (domain.lowerBound / step).rounded(.up)
        let last = (domain.upperBound / step).rounded(.down)
        guard last >= first, last - first < 1000 else { return [domain.lowerBound, domain.upperBound] }
        let scale = pow(10, Double(decimals(forStep: step)))
        return stride(from: first, through: last, by: 1).map { (($0 * step) * scale).rounded() / scale + 0 }
    }

    /// The domain widened outwards to whole nice steps.
    static func nice(_ domain: ClosedRange<Double>, count: Int = 5) -> ClosedRange<Double> {
        var lo = domain.lowerBound, hi = domain.upperBound
        if !(hi > lo) { lo -= 0.5; hi += 0.5 }
        let step = niceStep((hi - lo) / Double(max(count - 1, 1)))
        return ((lo / step).rounded(.down) * step)...((hi / step).rounded(.up) * step)
    }

    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        let fraction = raw / magnitude
        let nice: Double = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 2.5 ? 2.5 : fraction <= 5 ? 5 : 10
        return nice * magnitude
    }

    /// Decimals needed to print ticks spaced `step` apart.
    static func decimals(forStep step: Double) -> Int {
        guard step > 0, step.isFinite else { return 2 }
        var d = 0
        while d < 6 && abs((step * pow(10, Double(d))).rounded() - step * pow(10, Double(d))) > 1e-9 { d += 1 }
        return d
    }
}
