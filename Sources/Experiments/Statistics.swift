import Foundation

/// A binomial proportion with its Wilson score interval.
public struct WilsonInterval: Sendable, Equatable, Codable {
    public var successes: Int
    public var trials: Int
    public var lower: Double
    public var upper: Double
    /// successes / trials (NaN when there are no trials).
    public var proportion: Double { trials > 0 ? Double(successes) / Double(trials) : .nan }
}

/// Errors from curve helpers given inconsistent input.
public enum StatisticsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// x and y have different lengths.
    case lengthMismatch(x: Int, y: Int)
    /// x decreases at `index` (x[index] < x[index - 1]).
    case unsortedX(index: Int)
    /// Counts that are not a proportion (negative, or successes > trials).
    case badCounts(successes: Int, trials: Int)

    public var description: String {
        switch self {
        case .lengthMismatch(let x, let y): return "curve has \(x) x values but \(y) y values"
        case .unsortedX(let index): return "curve x values decrease at index \(index)"
        case .badCounts(let k, let n): return "\(k) successes of \(n) trials is not a proportion"
        }
    }
}

/// Which way a curve must cross a level in `Statistics.firstCrossing`.
public enum CrossingDirection: Sendable {
    case either, upward, downward
}

/// Small statistics helpers for experiment reports.
public enum Statistics {
    /// The two-sided 95% normal quantile, Φ⁻¹(0.975).
    public static let z95 = 1.959963984540054

    /// Wilson score interval for `successes` of `trials`:
    /// centre = (p + z²/2n) / (1 + z²/n), half-width = z·√(p(1−p)/n + z²/4n²) / (1 + z²/n),
    /// clamped to [0, 1]. With no trials the interval is [0, 1].
    public static func wilson(successes: Int, trials: Int, z: Double = z95) throws -> WilsonInterval {
        guard trials >= 0, successes >= 0, successes <= trials else {
            throw StatisticsError.badCounts(successes: successes, trials: trials)
        }
        guard trials > 0 else { return WilsonInterval(successes: 0, trials: 0, lower: 0, upper: 1) }
        let n = Double(trials)
        let p = Double(successes) / n
        let z2 = z * z
        let denominator = 1 + z2 / n
        let centre = (p + z2 / (2 * n)) / denominator
        let half = z * (p * (1 - p) / n + z2 / (4 * n * n)).squareRoot() / denominator
        return WilsonInterval(successes: successes, trials: trials,
                              lower: max(0, centre - half), upper: min(1, centre + half))
    }

    /// Wilson interval of how many of `outcomes` are true.
    public static func wilson(_ outcomes: [Bool], z: Double = z95) -> WilsonInterval {
        // Counts from a list are always a valid proportion.
        (try? wilson(successes: outcomes.filter { $0 }.count, trials: outcomes.count, z: z))
            ?? WilsonInterval(successes: 0, trials: 0, lower: 0, upper: 1)
    }

    /// Arithmetic mean; nil for an empty list.
    public static func mean(_ values: [Double]) -> Double? {
        values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }

    /// Standard deviation: sample (n − 1 denominator, nil below two values) by default,
    /// population (n denominator, nil when empty) when `sample` is false.
    public static func standardDeviation(_ values: [Double], sample: Bool = true) -> Double? {
        guard let m = mean(values), values.count >= (sample ? 2 : 1) else { return nil }
        let squares = values.reduce(0) { $0 + ($1 - m) * ($1 - m) }
        return (squares / Double(values.count - (sample ? 1 : 0))).squareRoot()
    }

    /// Area under the piecewise-linear curve through (x[i], y[i]) by the trapezoid rule
    /// (0 for fewer than two points). x must not decrease.
    public static func trapezoidArea(x: [Double], y: [Double]) throws -> Double {
        try checkCurve(x: x, y: y)
        guard x.count >= 2 else { return 0 }
        var area = 0.0
        for i in 1..<x.count { area += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2 }
        return area
    }

    /// The smallest x at which the piecewise-linear curve through (x[i], y[i]) reaches `level`
    /// in the given direction, by linear interpolation inside the segment; x[0] when y[0] equals
    /// the level; nil if it never does. x must not decrease.
    public static func firstCrossing(x: [Double], y: [Double], level: Double,
                                     direction: CrossingDirection = .either) throws -> Double? {
        try checkCurve(x: x, y: y)
        guard let first = y.first else { return nil }
        if first == level { return x[0] }
        for i in 1..<max(y.count, 1) {
            let a = y[i - 1] - level, b = y[i] - level
            let up = a < 0 && b >= 0, down = a > 0 && b <= 0
            let wanted: Bool
            switch direction {
            case .either: wanted = up || down
            case .upward: wanted = up
            case .downward: wanted = down
            }
            guard wanted else { continue }
            if b == 0 { return x[i] }
            return x[i - 1] + (x[i] - x[i - 1]) * a / (a - b)
        }
        return nil
    }

    private static func checkCurve(x: [Double], y: [Double]) throws {
        guard x.count == y.count else { throw StatisticsError.lengthMismatch(x: x.count, y: y.count) }
        for i in x.indices.dropFirst() where x[i] < x[i - 1] { throw StatisticsError.unsortedX(index: i) }
    }
}
