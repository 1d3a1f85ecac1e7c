import Foundation

/// A heat map over a grid (rows × columns, e.g. position × layer) as an SVG string.
///
/// NaN (or infinite) cells — missing values — are drawn light grey with a diagonal line and
/// explained in the legend. Cells marked in `filtered` keep their colour and value under a dark
/// hatch (e.g. candidates a selection filter removed). An optional marker outlines one cell (the
/// selected candidate). Each cell carries a hover tooltip with its labels and value.
public struct HeatMap: Sendable {
    /// values[row][column]; short rows are padded with NaN.
    public var values: [[Double]]
    public var rowLabels: [String]
    public var columnLabels: [String]
    public var title: String
    /// Axis titles, e.g. "position" and "layer".
    public var rowAxisTitle: String
    public var columnAxisTitle: String
    public var scale: ColorScale
    /// The value range of the colour scale; nil derives it from the data (see `ColorScale.domain`).
    public var range: ClosedRange<Double>?
    /// Title next to the colour bar, e.g. "refusal score".
    public var valueLabel: String
    /// The outlined cell, if any.
    public var marker: (row: Int, column: Int)?
    /// Legend text for the marker; nil writes "selected: <row axis> <row>, <column axis> <column> = <value>".
    public var markerLabel: String?
    /// Legend text for NaN cells.
    public var missingLabel: String
    /// Per cell, why it was removed (hatched, named in its tooltip); nil or a nil entry leaves it plain.
    public var filtered: [[String?]]?
    /// Legend text for hatched cells.
    public var filteredLabel: String
    /// Print values inside cells when they are large enough.
    public var showValues: Bool
    /// Digits after the point, unless `significantDigits` is set.
    public var decimals: Int
    /// Format values to this many significant digits instead (scientific below 10⁻³; tooltips get two more).
    public var significantDigits: Int?
    /// Total width in pixels; the height follows from the number of rows.
    public var width: Double

    public init(values: [[Double]], rowLabels: [String]? = nil, columnLabels: [String]? = nil, title: String = "",
                rowAxisTitle: String = "", columnAxisTitle: String = "", scale: ColorScale = .sequential,
                range: ClosedRange<Double>? = nil, valueLabel: String = "", marker: (row: Int, column: Int)? = nil,
                markerLabel: String? = nil, missingLabel: String = "filtered / n/a", filtered: [[String?]]? = nil,
                filteredLabel: String = "filtered", showValues: Bool = true, decimals: Int = 2,
                significantDigits: Int? = nil, width: Double = 900) {
        let columns = values.map(\.count).max() ?? 0
        self.values = values.map { $0 + Array(repeating: .nan, count: columns - $0.count) }
        self.rowLabels = rowLabels ?? values.indices.map(String.init)
        self.columnLabels = columnLabels ?? (0..<columns).map(String.init)
        self.title = title
        self.rowAxisTitle = rowAxisTitle
        self.columnAxisTitle = columnAxisTitle
        self.scale = scale
        self.range = range
        self.valueLabel = valueLabel
        self.marker = marker
        self.markerLabel = markerLabel
        self.missingLabel = missingLabel
        self.filtered = filtered
        self.filteredLabel = filteredLabel
        self.showValues = showValues
        self.decimals = decimals
        self.significantDigits = significantDigits
        self.width = width
    }

    private func label(_ labels: [String], _ i: Int) -> String { i < labels.count ? labels[i] : String(i) }

    /// A value as printed in a cell (`precise`: as in its tooltip).
    func format(_ value: Double, precise: Bool = false) -> String {
        if let significantDigits { return HTML.significant(value, digits: significantDigits + (precise ? 2 : 0)) }
        return HTML.number(value, decimals: decimals + (precise ? 2 : 0))
    }

    private func filterReason(_ r: Int, _ c: Int) -> String? {
        guard let filtered, r < filtered.count, c < filtered[r].count else { return nil }
        return filtered[r][c]
    }

    /// Thin, half-transparent diagonal lines over a cell (its colour and value stay readable).
    private func hatch(_ svg: inout SVGBuilder, _ x: Double, _ y: Double, _ w: Double, _ h: Double) {
        let step = 7.0
        var t = step
        while t < w + h {
            let x1 = x + max(0, t - h), y1 = y + min(t, h), x2 = x + min(t, w), y2 = y + max(0, t - w)
            svg.line(x1, y1, x2, y2, stroke: "#000", width: 1, opacity: 0.4, cssClass: "hatch")
            t += step
        }
    }

    /// The chart as a standalone `<svg>` element.
    public func svg() -> String {
        let rows = values.count, columns = values.first?.count ?? 0
        let domain = range ?? scale.domain(for: values.flatMap { $0 })
        let rowLabelWidth = (0..<rows).map { SVGBuilder.textWidth(label(rowLabels, $0), size: 11) }.max() ?? 0
        let left = 16 + (rowAxisTitle.isEmpty ? 0 : 18) + min(rowLabelWidth, 160) + 6
        let right = 100.0
        let top = title.isEmpty ? 12.0 : 36.0
        let plotWidth = max(width - left - right, 40)
        let cellWidth = plotWidth / Double(max(columns, 1))
        let cellHeight = min(max(cellWidth * 0.75, 14), 32)
        let plotHeight = cellHeight * Double(max(rows, 1))
        let bottom = 34 + (columnAxisTitle.isEmpty ? 0 : 18) + 24.0
        var svg = SVGBuilder(width: width, height: top + plotHeight + bottom)
        if !title.isEmpty { svg.text(title, left, 22, size: 15, bold: true, cssClass: "chart-title") }

        // Cells.
        let span = domain.upperBound - domain.lowerBound
        let widestValue = values.joined().filter(\.isFinite).map { SVGBuilder.textWidth(format($0), size: 10) }.max() ?? 0
        let valuesFit = showValues && cellWidth >= widestValue + 4 && cellHeight >= 15
        for r in 0..<rows {
            for c in 0..<columns {
                let x = left + Double(c) * cellWidth, y = top + Double(r) * cellHeight
                let value = values[r][c]
                let where_ = "\(rowAxisTitle.isEmpty ? "row" : rowAxisTitle) \(label(rowLabels, r)), "
                    + "\(columnAxisTitle.isEmpty ? "column" : columnAxisTitle) \(label(columnLabels, c))"
                guard value.isFinite else {
                    // A filter's reason, where there is one, says why there is no value (not computed).
                    let why = filterReason(r, c).map { "not computed — \(filteredLabel): \($0)" } ?? missingLabel
                    svg.rect(x, y, cellWidth, cellHeight, fill: "#e4e4e4", stroke: "#fff", strokeWidth: 0.5,
                             cssClass: "cell missing", tooltip: "\(where_): \(why)")
                    svg.line(x + 2, y + cellHeight - 2, x + cellWidth - 2, y + 2, stroke: "#a0a0a0", width: 1)
                    continue
                }
                let color = scale.color(at: span > 0 ? (value - domain.lowerBound) / span : 0.5)
                let reason = filterReason(r, c)
                svg.rect(x, y, cellWidth, cellHeight, fill: color.css, stroke: "#fff", strokeWidth: 0.5,
                         cssClass: reason == nil ? "cell" : "cell filtered",
                         tooltip: "\(where_): \(format(value, precise: true))" + (reason.map { " — \(filteredLabel): \($0)" } ?? ""))
                if reason != nil { hatch(&svg, x, y, cellWidth, cellHeight) }
                if valuesFit {
                    // Over a hatch, a value gets a backing of its cell's colour.
                    if reason != nil {
                        let w = SVGBuilder.textWidth(format(value), size: 10) + 4
                        svg.rect(x + (cellWidth - w) / 2, y + cellHeight / 2 - 6, w, 13, fill: color.css)
                    }
                    svg.text(format(value), x + cellWidth / 2, y + cellHeight / 2 + 4, size: 10, anchor: "middle",
                             fill: color.luminance > 0.5 ? "#111" : "#fff")
                }
            }
        }

        // Row labels (every k-th when rows are dense) and column labels.
        let rowStep = max(1, Int((13 / cellHeight).rounded(.up)))
        for r in stride(from: 0, to: rows, by: rowStep) {
            svg.text(SVGBuilder.fit(label(rowLabels, r), width: 160, size: 11), left - 6,
                     top + (Double(r) + 0.5) * cellHeight + 4, size: 11, anchor: "end", cssClass: "row-label")
        }
        let widest = (0..<columns).map { SVGBuilder.textWidth(label(columnLabels, $0), size: 11) }.max() ?? 0
        let columnStep = max(1, Int(((widest + 6) / cellWidth).rounded(.up)))
        for c in stride(from: 0, to: columns, by: columnStep) {
            svg.text(label(columnLabels, c), left + (Double(c) + 0.5) * cellWidth, top + plotHeight + 16, size: 11,
                     anchor: "middle", cssClass: "column-label")
        }
        if !columnAxisTitle.isEmpty {
            svg.text(columnAxisTitle, left + plotWidth / 2, top + plotHeight + 36, size: 12, anchor: "middle", bold: true)
        }
        if !rowAxisTitle.isEmpty {
            let x = 14.0, y = top + plotHeight / 2
            svg.text(rowAxisTitle, x, y, size: 12, anchor: "middle", bold: true, rotate: -90)
        }

        // Marker.
        var legendX = left
        let legendY = top + plotHeight + bottom - 12
        if let marker, marker.row >= 0, marker.row < rows, marker.column >= 0, marker.column < columns {
            let x = left + Double(marker.column) * cellWidth, y = top + Double(marker.row) * cellHeight
            svg.rect(x + 1, y + 1, cellWidth - 2, cellHeight - 2, fill: "none", stroke: "#fff", strokeWidth: 1.5)
            svg.rect(x - 1, y - 1, cellWidth + 2, cellHeight + 2, fill: "none", stroke: "#000", strokeWidth: 2.5,
                     cssClass: "marker")
            let rowName = rowAxisTitle.isEmpty ? "" : rowAxisTitle + " "
            let columnName = columnAxisTitle.isEmpty ? "" : columnAxisTitle + " "
            let text = markerLabel ?? "selected: \(rowName)\(label(rowLabels, marker.row)), "
                + "\(columnName)\(label(columnLabels, marker.column))"
                + " = \(format(values[marker.row][marker.column]))"
            svg.rect(legendX, legendY - 6, 14, 12, fill: "none", stroke: "#000", strokeWidth: 2.5)
            svg.text(text, legendX + 22, legendY + 4, size: 12, cssClass: "legend")
            legendX += 22 + SVGBuilder.textWidth(text) + 24
        }
        if values.contains(where: { $0.contains { !$0.isFinite } }) {
            svg.rect(legendX, legendY - 6, 14, 12, fill: "#e4e4e4", stroke: "#a0a0a0", strokeWidth: 0.5)
            svg.line(legendX + 1, legendY + 5, legendX + 13, legendY - 5, stroke: "#a0a0a0")
            svg.text(missingLabel, legendX + 22, legendY + 4, size: 12, cssClass: "legend")
            legendX += 22 + SVGBuilder.textWidth(missingLabel) + 24
        }
        if (0..<rows).contains(where: { r in (0..<columns).contains { values[r][$0].isFinite && filterReason(r, $0) != nil } }) {
            svg.rect(legendX, legendY - 6, 14, 12, fill: "#bbb", stroke: "#888", strokeWidth: 0.5)
            hatch(&svg, legendX, legendY - 6, 14, 12)
            svg.text(filteredLabel, legendX + 22, legendY + 4, size: 12, cssClass: "legend")
        }

        // Colour bar.
        let barX = left + plotWidth + 18, barWidth = 14.0
        let barHeight = max(plotHeight, 60), slices = 48
        for i in 0..<slices {
            let t = 1 - (Double(i) + 0.5) / Double(slices)
            svg.rect(barX, top + Double(i) * barHeight / Double(slices), barWidth, barHeight / Double(slices) + 0.5,
                     fill: scale.color(at: t).css)
        }
        svg.rect(barX, top, barWidth, barHeight, fill: "none", stroke: "#888", strokeWidth: 0.5)
        let y = LinearScale(domain: domain, from: top + barHeight, to: top)
        var ticks = LinearScale.ticks(domain, count: max(2, min(6, Int(barHeight / 30))))
        let tickDecimals = LinearScale.decimals(forStep: ticks.count > 1 ? ticks[1] - ticks[0] : 1)
        // Label the ends too unless a round tick is already close to them.
        for end in [domain.lowerBound, domain.upperBound]
        where !ticks.contains(where: { abs($0 - end) < 0.2 * (domain.upperBound - domain.lowerBound) }) {
            ticks.append(end)
        }
        for tick in ticks {
            svg.line(barX + barWidth, y(tick), barX + barWidth + 4, y(tick), stroke: "#555")
            svg.text(HTML.number(tick, decimals: tickDecimals), barX + barWidth + 7, y(tick) + 4, size: 10,
                     cssClass: "tick")
        }
        if !valueLabel.isEmpty {
            svg.text(valueLabel, barX + barWidth + 52, top + barHeight / 2, size: 11, anchor: "middle", rotate: 90)
        }
        return svg.render(title: title.isEmpty ? "heat map" : title, cssClass: "chart heatmap")
    }
}
