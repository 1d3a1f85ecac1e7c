import Foundation

/// An RGB colour, written as `#rrggbb`.
public struct RGB: Sendable, Equatable {
    public var r: Double, g: Double, b: Double

    public init(_ r: Double, _ g: Double, _ b: Double) {
        self.r = r
        self.g = g
        self.b = b
    }

    /// From a 0xRRGGBB literal.
    public init(hex: UInt32) {
        self.init(Double((hex >> 16) & 0xff) / 255, Double((hex >> 8) & 0xff) / 255, Double(hex & 0xff) / 255)
    }

    /// `#rrggbb`.
    public var css: String {
        func byte(_ v: Double) -> String {
            let n = Int((min(max(v, 0), 1) * 255).rounded())
            let digits = Array("0123456789abcdef")
            return String([digits[n >> 4], digits[n & 0xf]])
        }
        return "#" + byte(r) + byte(g) + byte(b)
    }

    /// Relative luminance (sRGB, approximate), for choosing black or white text on this colour.
    public var luminance: Double { 0.2126 * r + 0.7152 * g + 0.0722 * b }

    func mixed(with other: RGB, _ t: Double) -> RGB {
        RGB(r + (other.r - r) * t, g + (other.g - g) * t, b + (other.b - b) * t)
    }
}

/// Maps numbers to colours for heat maps.
public enum ColorScale: Sendable, Equatable {
    /// Viridis-like, dark purple (low) to yellow (high); for magnitudes such as refusal scores.
    case sequential
    /// Blue (below `center`) – white (at `center`) – red (above), symmetric around the centre.
    case diverging(center: Double)

    static let viridis: [RGB] = [0x440154, 0x482878, 0x3e4989, 0x31688e, 0x26828e, 0x1f9e89, 0x35b779, 0x6ece58,
                                 0xb5de2b, 0xfde725].map { RGB(hex: $0) }
    static let redBlue: [RGB] = [0x2166ac, 0x4393c3, 0x92c5de, 0xd1e5f0, 0xf7f7f7, 0xfddbc7, 0xf4a582, 0xd6604d,
                                 0xb2182b].map { RGB(hex: $0) }

    /// The colour at position `t` in [0, 1] of the scale's ramp.
    public func color(at t: Double) -> RGB {
        let ramp: [RGB]
        switch self {
        case .sequential: ramp = Self.viridis
        case .diverging: ramp = Self.redBlue
        }
        let clamped = t.isNaN ? 0.5 : min(max(t, 0), 1)
        let scaled = clamped * Double(ramp.count - 1)
        let i = min(Int(scaled), ramp.count - 2)
        return ramp[i].mixed(with: ramp[i + 1], scaled - Double(i))
    }

    /// The value range shown for `values` (NaN and infinities ignored): min...max for sequential,
    /// centre ± the largest distance from the centre for diverging. Never empty.
    public func domain(for values: [Double]) -> ClosedRange<Double> {
        let finite = values.filter(\.isFinite)
        switch self {
        case .sequential:
            guard let lo = finite.min(), let hi = finite.max() else { return 0...1 }
            return lo < hi ? lo...hi : (lo - 0.5)...(hi + 0.5)
        case .diverging(let center):
            let reach = finite.map { abs($0 - center) }.max() ?? 1
            let r = reach > 0 ? reach : 1
            return (center - r)...(center + r)
        }
    }
}

/// The categorical palette for series (Okabe–Ito, colour-blind safe), cycled.
public enum Palette {
    public static let colors: [String] = ["#0072b2", "#e69f00", "#009e73", "#d55e00", "#cc79a7", "#56b4e9",
                                          "#f0e442", "#000000"]

    /// The colour of series number `index`.
    public static func color(_ index: Int) -> String { colors[((index % colors.count) + colors.count) % colors.count] }
}
