import Foundation

/// One line of a line chart, with an optional shaded band (e.g. a Wilson 95% interval per point).
public struct LineSeries: Sendable {
    public var name: String
    public var x: [Double]
    /// NaN values break the line.
    public var y: [Double]
    /// Band edges per point (same length as `x`); points where either edge is NaN are left out of the band.
    public var lower: [Double]?
    public var upper: [Double]?
    /// CSS colour; nil picks from `Palette`.
    public var color: String?
    public var dashed: Bool
    /// An SVG dash pattern (e.g. "2 3"); overrides `dashed`'s "6 4".
    public var dashPattern: String?
    public var markers: Bool
    /// false draws the markers alone (a scatter plot).
    public var line: Bool
    /// Drawn this far to the right, in x units (tooltips keep the true x), so that series with equal
    /// values stay visible side by side.
    public var xOffset: Double

    public init(name: String, x: [Double], y: [Double], lower: [Double]? = nil, upper: [Double]? = nil,
                color: String? = nil, dashed: Bool = false, dashPattern: String? = nil, markers: Bool = true,
                line: Bool = true, xOffset: Double = 0) {
        self.name = name
        self.x = x
        self.y = y
        self.lower = lower
        self.upper = upper
        self.color = color
        self.dashed = dashed
        self.dashPattern = dashPattern
        self.markers = markers
        self.line = line
        self.xOffset = xOffset
    }

    var dash: String? { dashPattern ?? (dashed ? "6 4" : nil) }

    /// A series with Wilson intervals as its band: `y` = proportions, band = interval bounds.
    public init(name: String, x: [Double], wilson intervals: [WilsonInterval], color: String? = nil) {
        self.init(name: name, x: x, y: intervals.map(\.proportion), lower: intervals.map(\.lower),
                  upper: intervals.map(\.upper), color: color)
    }
}

/// A reference line across the plot, e.g. chance level or the x at which a curve crosses 50%.
public struct ReferenceLine: Sendable {
    public enum Axis: Sendable { case horizontal, vertical }
    public var value: Double
    public var axis: Axis
    public var label: String

    /// A line at y = value (`.horizontal`) or x = value (`.vertical`).
    public init(_ value: Double, axis: Axis = .horizontal, label: String = "") {
        self.value = value
        self.axis = axis
        self.label = label
    }
}

/// A labelled point, e.g. the trial a search chose.
public struct ChartAnnotation: Sendable {
    public var x: Double
    public var y: Double
    /// One or more lines of text, drawn beside a ring around the point.
    public var lines: [String]

    public init(x: Double, y: Double, lines: [String]) {
        self.x = x
        self.y = y
        self.lines = lines
    }
}

/// A line chart with several series, optional confidence bands and reference lines, as SVG
/// (e.g. consistency(f) curves).
public struct LineChart: Sendable {
    public var series: [LineSeries]
    public var title: String
    public var xLabel: String
    public var yLabel: String
    /// Fixed ranges; nil fits nice ranges around the data, bands and reference lines.
    public var xRange: ClosedRange<Double>?
    public var yRange: ClosedRange<Double>?
    public var references: [ReferenceLine]
    public var annotations: [ChartAnnotation]
    public var width: Double
    public var height: Double

    public init(series: [LineSeries], title: String = "", xLabel: String = "", yLabel: String = "",
                xRange: ClosedRange<Double>? = nil, yRange: ClosedRange<Double>? = nil,
                references: [ReferenceLine] = [], annotations: [ChartAnnotation] = [], width: Double = 900,
                height: Double = 400) {
        self.series = series
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.xRange = xRange
        self.yRange = yRange
        self.references = references
        self.annotations = annotations
        self.width = width
        self.height = height
    }

    private static func range(_ values: [Double]) -> ClosedRange<Double> {
        let finite = values.filter(\.isFinite)
        guard let lo = finite.min(), let hi = finite.max() else { return 0...1 }
        return LinearScale.nice(lo...hi)
    }

    /// The chart as a standalone `<svg>` element.
    public func svg() -> String {
        let xs = series.flatMap { s in s.x.map { $0 + s.xOffset } } + references.filter { $0.axis == .vertical }.map(\.value)
        var ys: [Double] = references.filter { $0.axis == .horizontal }.map(\.value)
        for s in series {
            ys += s.y
            ys += s.lower ?? []
            ys += s.upper ?? []
        }
        let xDomain = xRange ?? Self.range(xs), yDomain = yRange ?? Self.range(ys)
        let left = 64.0, right = 24.0
        var svg = SVGBuilder(width: width, height: height)
        var top = 14.0
        if !title.isEmpty {
            svg.text(title, left, 22, size: 15, bold: true, cssClass: "chart-title")
            top = 34
        }
        let legendItems: [(name: String, color: String, style: SVGBuilder.LegendStyle)] = series.enumerated().map { i, s in
            let style: SVGBuilder.LegendStyle = s.lower != nil && s.upper != nil ? .band(dash: s.dash)
                : s.line ? .line(dash: s.dash) : .box
            return (s.name, s.color ?? Palette.color(i), style)
        }
        top += svg.legend(legendItems, x: left, y: top + 4, maxWidth: width - left - right) + 12
        let bottom = 40.0 + (xLabel.isEmpty ? 0 : 16)
        let plotWidth = width - left - right, plotHeight = max(height - top - bottom, 40)
        let x = LinearScale(domain: xDomain, from: left, to: left + plotWidth)
        let y = LinearScale(domain: yDomain, from: top + plotHeight, to: top)
        SVGAxes.yAxis(&svg, scale: y, domain: yDomain, left: left, right: left + plotWidth, label: yLabel)

        let xTicks = LinearScale.ticks(xDomain, count: max(2, min(11, Int(plotWidth / 70))))
        let xDecimals = LinearScale.decimals(forStep: xTicks.count > 1 ? xTicks[1] - xTicks[0] : 1)
        for tick in xTicks {
            svg.line(x(tick), top + plotHeight, x(tick), top + plotHeight + 5, stroke: "#444")
            svg.text(HTML.number(tick, decimals: xDecimals), x(tick), top + plotHeight + 18, size: 11, anchor: "middle",
                     fill: "#444", cssClass: "tick")
        }
        svg.line(left, top + plotHeight, left + plotWidth, top + plotHeight, stroke: "#444")
        if !xLabel.isEmpty {
            svg.text(xLabel, left + plotWidth / 2, height - 8, size: 12, anchor: "middle", bold: true)
        }

        func inside(_ px: Double, _ py: Double) -> (Double, Double) {
            (min(max(px, left), left + plotWidth), min(max(py, top), top + plotHeight))
        }
        // Bands first, so that lines are drawn over every band.
        for (i, s) in series.enumerated() {
            guard let lower = s.lower, let upper = s.upper else { continue }
            let color = s.color ?? Palette.color(i)
            for run in Self.runs(count: s.x.count, valid: { k in
                k < lower.count && k < upper.count && s.x[k].isFinite && lower[k].isFinite && upper[k].isFinite
            }) {
                let upperEdge: [(Double, Double)] = run.map { inside(x(s.x[$0] + s.xOffset), y(upper[$0])) }
                let lowerEdge: [(Double, Double)] = run.reversed().map { inside(x(s.x[$0] + s.xOffset), y(lower[$0])) }
                svg.polygon(upperEdge + lowerEdge, fill: color, opacity: 0.18, cssClass: "band")
            }
        }
        for (i, s) in series.enumerated() {
            let color = s.color ?? Palette.color(i)
            let valid = { (k: Int) in k < s.y.count && s.x[k].isFinite && s.y[k].isFinite }
            for run in Self.runs(count: s.x.count, valid: valid) where s.line {
                svg.polyline(run.map { inside(x(s.x[$0] + s.xOffset), y(s.y[$0])) }, stroke: color, width: 2.2, dash: s.dash)
            }
            guard s.markers else { continue }
            for k in s.x.indices where valid(k) {
                let (px, py) = inside(x(s.x[k] + s.xOffset), y(s.y[k]))
                var tip = "\(s.name): x = \(HTML.compact(s.x[k])), y = \(HTML.compact(s.y[k]))"
                if let lower = s.lower, let upper = s.upper, k < lower.count, k < upper.count {
                    tip += " [\(HTML.compact(lower[k])), \(HTML.compact(upper[k]))]"
                }
                svg.circle(px, py, r: 3.2, fill: color, tooltip: tip)
            }
        }
        for reference in references {
            switch reference.axis {
            case .horizontal:
                let py = inside(left, y(reference.value)).1
                svg.line(left, py, left + plotWidth, py, stroke: "#666", width: 1.2, dash: "4 3", cssClass: "reference")
                if !reference.label.isEmpty {
                    svg.text(reference.label, left + plotWidth - 4, py - 5, size: 11, anchor: "end", fill: "#555", halo: true)
                }
            case .vertical:
                let px = inside(x(reference.value), top).0
                svg.line(px, top, px, top + plotHeight, stroke: "#666", width: 1.2, dash: "4 3", cssClass: "reference")
                if !reference.label.isEmpty {
                    svg.text(reference.label, px + 4, top + 12, size: 11, fill: "#555", halo: true)
                }
            }
        }
        for a in annotations where a.x.isFinite && a.y.isFinite {
            let (px, py) = inside(x(a.x), y(a.y))
            svg.raw("<circle cx=\"\(HTML.coordinate(px))\" cy=\"\(HTML.coordinate(py))\" r=\"8\" fill=\"none\" stroke=\"#111\" stroke-width=\"1.8\" class=\"annotation\"/>")
            // Beside the point, on the side with more room, kept inside the plot.
            let textWidth = a.lines.map { SVGBuilder.textWidth($0, size: 12) }.max() ?? 0
            let right = px + 14 + textWidth <= left + plotWidth
            let tx = right ? px + 14 : px - 14
            let blockHeight = Double(a.lines.count) * 15
            let ty = min(max(py - blockHeight / 2 + 11, top + 11), top + plotHeight - blockHeight + 11)
            svg.line(px + (right ? 8 : -8), py, tx + (right ? -3 : 3), ty - 4, stroke: "#111", width: 1)
            for (i, text) in a.lines.enumerated() {
                svg.text(text, tx, ty + Double(i) * 15, size: 12, anchor: right ? "start" : "end", bold: i == 0, halo: true,
                         cssClass: "annotation")
            }
        }
        return svg.render(title: title.isEmpty ? "line chart" : title, cssClass: "chart lines")
    }

    /// Maximal runs of consecutive valid indices.
    static func runs(count: Int, valid: (Int) -> Bool) -> [[Int]] {
        var runs: [[Int]] = [], current: [Int] = []
        for k in 0..<count {
            if valid(k) { current.append(k) } else if !current.isEmpty { runs.append(current); current = [] }
        }
        if !current.isEmpty { runs.append(current) }
        return runs
    }
}
