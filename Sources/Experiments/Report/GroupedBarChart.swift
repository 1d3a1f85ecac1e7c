import Foundation

/// One series of a grouped bar chart: a value per group, optionally with an interval (error bar).
public struct BarSeries: Sendable {
    public var name: String
    /// One value per group; NaN draws no bar and labels it "n/a".
    public var values: [Double]
    /// Optional intervals per group (e.g. Wilson 95%), drawn as whiskers.
    public var intervals: [ClosedRange<Double>?]?
    /// CSS colour; nil picks from `Palette`.
    public var color: String?

    public init(name: String, values: [Double], intervals: [ClosedRange<Double>?]? = nil, color: String? = nil) {
        self.name = name
        self.values = values
        self.intervals = intervals
        self.color = color
    }
}

/// Grouped bars (e.g. refusal rate baseline / ablated / with addition, per prompt set) as SVG.
public struct GroupedBarChart: Sendable {
    /// The categories along x (e.g. prompt sets).
    public var groups: [String]
    public var series: [BarSeries]
    public var title: String
    public var xLabel: String
    public var yLabel: String
    /// Fixed y range; nil uses [0, 1] when `unitInterval` is set, else a nice range covering the data and 0.
    public var yRange: ClosedRange<Double>?
    public var unitInterval: Bool
    /// Print values as percentages ("85%") instead of decimals.
    public var percent: Bool
    public var decimals: Int
    public var width: Double
    public var height: Double

    public init(groups: [String], series: [BarSeries], title: String = "", xLabel: String = "", yLabel: String = "",
                yRange: ClosedRange<Double>? = nil, unitInterval: Bool = false, percent: Bool = false,
                decimals: Int = 2, width: Double = 900, height: Double = 380) {
        self.groups = groups
        self.series = series
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.yRange = yRange
        self.unitInterval = unitInterval
        self.percent = percent
        self.decimals = decimals
        self.width = width
        self.height = height
    }

    private func format(_ value: Double) -> String {
        guard value.isFinite else { return "n/a" }
        return percent ? HTML.number(value * 100, decimals: max(decimals - 2, 0)) + "%" : HTML.number(value, decimals: decimals)
    }

    private func value(_ s: BarSeries, _ g: Int) -> Double { g < s.values.count ? s.values[g] : .nan }

    /// The chart as a standalone `<svg>` element.
    public func svg() -> String {
        var all: [Double] = [0]
        for s in series {
            all += s.values.filter(\.isFinite)
            for interval in s.intervals ?? [] {
                if let interval { all += [interval.lowerBound, interval.upperBound].filter(\.isFinite) }
            }
        }
        let domain = yRange ?? (unitInterval ? 0...1 : LinearScale.nice((all.min() ?? 0)...(all.max() ?? 1)))
        let left = 64.0, right = 20.0
        var svg = SVGBuilder(width: width, height: height)
        var top = 14.0
        if !title.isEmpty {
            svg.text(title, left, 22, size: 15, bold: true, cssClass: "chart-title")
            top = 34
        }
        let legendHeight = svg.legend(series.enumerated().map { ($1.name, $1.color ?? Palette.color($0), .box) },
                                      x: left, y: top + 4, maxWidth: width - left - right)
        top += legendHeight + 12
        let bottom = 44.0 + (xLabel.isEmpty ? 0 : 18)
        let plotWidth = width - left - right, plotHeight = max(height - top - bottom, 40)
        let y = LinearScale(domain: domain, from: top + plotHeight, to: top)
        SVGAxes.yAxis(&svg, scale: y, domain: domain, left: left, right: left + plotWidth, label: yLabel,
                      percent: percent)

        let groupWidth = plotWidth / Double(max(groups.count, 1))
        let barWidth = groupWidth * 0.8 / Double(max(series.count, 1))
        let zero = y(min(max(0, domain.lowerBound), domain.upperBound))
        for (g, group) in groups.enumerated() {
            let groupX = left + Double(g) * groupWidth
            for (s, item) in series.enumerated() {
                let color = item.color ?? Palette.color(s)
                let x = groupX + groupWidth * 0.1 + Double(s) * barWidth
                let v = value(item, g)
                let labelSize = min(11, max(8, barWidth / 3.2))
                guard v.isFinite else {
                    svg.text("n/a", x + barWidth / 2, zero - 4, size: labelSize, anchor: "middle", fill: "#777",
                             cssClass: "bar-label")
                    continue
                }
                let clamped = min(max(v, domain.lowerBound), domain.upperBound)
                svg.rect(x + 1, min(y(clamped), zero), barWidth - 2, abs(zero - y(clamped)), fill: color, cssClass: "bar",
                         tooltip: "\(item.name), \(group): \(format(v))")
                var labelY = v >= 0 ? y(clamped) - 4 : y(clamped) + 12
                if let intervals = item.intervals, g < intervals.count, let interval = intervals[g] {
                    let lo = y(min(max(interval.lowerBound, domain.lowerBound), domain.upperBound))
                    let hi = y(min(max(interval.upperBound, domain.lowerBound), domain.upperBound))
                    let cx = x + barWidth / 2, cap = min(barWidth / 4, 5)
                    svg.line(cx, lo, cx, hi, stroke: "#222", width: 1.2)
                    svg.line(cx - cap, lo, cx + cap, lo, stroke: "#222", width: 1.2)
                    svg.line(cx - cap, hi, cx + cap, hi, stroke: "#222", width: 1.2)
                    if v >= 0 { labelY = min(labelY, hi - 4) }
                }
                svg.text(format(v), x + barWidth / 2, max(labelY, top - 2), size: labelSize, anchor: "middle",
                         halo: true, cssClass: "bar-label")
            }
            let lines = SVGAxes.wrap(group, width: groupWidth - 4, size: 12, maxLines: 2)
            for (i, line) in lines.enumerated() {
                svg.text(line, groupX + groupWidth / 2, top + plotHeight + 18 + Double(i) * 14, size: 12, anchor: "middle",
                         cssClass: "group-label", tooltip: lines.count > 1 || line != group ? group : nil)
            }
        }
        svg.line(left, zero, left + plotWidth, zero, stroke: "#444")
        if !xLabel.isEmpty {
            svg.text(xLabel, left + plotWidth / 2, height - 8, size: 12, anchor: "middle", bold: true)
        }
        return svg.render(title: title.isEmpty ? "bar chart" : title, cssClass: "chart bars")
    }
}

/// Axis drawing shared by the bar and line charts.
enum SVGAxes {
    /// Horizontal grid lines with tick labels on the left and a rotated axis title.
    static func yAxis(_ svg: inout SVGBuilder, scale: LinearScale, domain: ClosedRange<Double>, left: Double,
                      right: Double, label: String, percent: Bool = false) {
        let ticks = LinearScale.ticks(domain, count: 6)
        let step = ticks.count > 1 ? ticks[1] - ticks[0] : 1
        let decimals = LinearScale.decimals(forStep: percent ? step * 100 : step)
        for tick in ticks {
            svg.line(left, scale(tick), right, scale(tick), stroke: "#e6e6e6", width: 1, cssClass: "grid")
            let text = percent ? HTML.number(tick * 100, decimals: decimals) + "%" : HTML.number(tick, decimals: decimals)
            svg.text(text, left - 6, scale(tick) + 4, size: 11, anchor: "end", fill: "#444", cssClass: "tick")
        }
        svg.line(left, scale.from, left, scale.to, stroke: "#444")
        if !label.isEmpty {
            svg.text(label, 16, (scale.from + scale.to) / 2, size: 12, anchor: "middle", bold: true, rotate: -90)
        }
    }

    /// Splits `text` at spaces into at most `maxLines` lines of about `width` px, cutting the last.
    static func wrap(_ text: String, width: Double, size: Double, maxLines: Int) -> [String] {
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ").map(String.init) {
            let candidate = current.isEmpty ? word : current + " " + word
            if SVGBuilder.textWidth(candidate, size: size) <= width || current.isEmpty {
                current = candidate
            } else {
                lines.append(current)
                current = word
            }
        }
        if !current.isEmpty { lines.append(current) }
        if lines.count > maxLines {
            lines = Array(lines.prefix(maxLines - 1)) + [lines.dropFirst(maxLines - 1).joined(separator: " ")]
        }
        return lines.map { SVGBuilder.fit($0, width: width, size: size) }
    }
}
