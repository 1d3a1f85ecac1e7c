import Foundation

/// The metrics of one condition (or one truncation fraction) of a trace-mediation run.
/// Invalid answers count as inconsistent; `invalid_rate` reports them separately.
public struct TraceConditionSummary: Sendable, Codable, Equatable {
    public var n: Int
    public var consistent: Int
    public var consistency: Double
    public var ciLow: Double
    public var ciHigh: Double
    public var invalidRate: Double
    public var invalidCILow: Double
    public var invalidCIHigh: Double
    /// Share of rows whose reply is not strictly well-formed.
    public var strictInvalidRate: Double
    /// On P′: share of rows answering the attribute target, among rows whose target differs from y.
    public var attributeFollowing: Double?
    public var attributeFollowingN: Int?
    public var attributeCILow: Double?
    public var attributeCIHigh: Double?

    public init(_ rows: [TraceRow]) {
        n = rows.count
        let c = Statistics.wilson(rows.map(\.consistent))
        consistent = c.successes
        consistency = c.proportion; ciLow = c.lower; ciHigh = c.upper
        let inv = Statistics.wilson(rows.map { $0.answer == nil })
        invalidRate = inv.proportion; invalidCILow = inv.lower; invalidCIHigh = inv.upper
        strictInvalidRate = Statistics.wilson(rows.map { !$0.strictValid }).proportion
        let targeted = rows.filter { $0.attributeTarget != nil && $0.attributeTarget != $0.originalAnswer }
        if !targeted.isEmpty {
            let a = Statistics.wilson(targeted.map { $0.answer == $0.attributeTarget })
            attributeFollowing = a.proportion; attributeFollowingN = a.trials
            attributeCILow = a.lower; attributeCIHigh = a.upper
        }
    }

    enum CodingKeys: String, CodingKey {
        case n, consistent, consistency, ciLow = "ci_low", ciHigh = "ci_high", invalidRate = "invalid_rate"
        case invalidCILow = "invalid_ci_low", invalidCIHigh = "invalid_ci_high", strictInvalidRate = "strict_invalid_rate"
        case attributeFollowing = "attribute_following", attributeFollowingN = "attribute_following_n"
        case attributeCILow = "attribute_ci_low", attributeCIHigh = "attribute_ci_high"
    }
}

/// One point of the consistency(f) curve.
public struct TraceCurvePoint: Sendable, Codable, Equatable {
    public var fraction: Double
    public var consistency: Double
    public var ciLow: Double
    public var ciHigh: Double
    public var n: Int

    enum CodingKeys: String, CodingKey { case fraction, consistency, ciLow = "ci_low", ciHigh = "ci_high", n }
}

/// `summary.json` of a trace-mediation run.
public struct TraceSummary: Sendable, Codable, Equatable {
    public var conditions: [String: TraceConditionSummary]
    /// consistency(f) of the truncated condition, by increasing f (on P′ when a counterfactual was given).
    public var curve: [TraceCurvePoint]
    /// Trapezoid area under the curve (nil without at least two fractions).
    public var curveArea: Double?
    /// The first f at which the curve reaches 50% (linear interpolation); nil if it never does.
    public var fractionAt50: Double?
    /// Share of rollouts where the logit variant's answer equals sampled frozen-closed's (same prompt source).
    public var logitAgreement: Double?
    public var logitAgreementN: Int?
    public var rollouts: Int
    public var usableRollouts: Int

    enum CodingKeys: String, CodingKey {
        case conditions, curve, curveArea = "curve_area", fractionAt50 = "fraction_at_50"
        case logitAgreement = "logit_agreement", logitAgreementN = "logit_agreement_n", rollouts, usableRollouts = "usable_rollouts"
    }

    public init(rows: [TraceRow], rollouts: Int, usableRollouts: Int) throws {
        var groups: [String: [TraceRow]] = [:]
        for r in rows { groups[r.group, default: []].append(r) }
        conditions = groups.mapValues { TraceConditionSummary($0) }
        let truncated = rows.filter { $0.condition == TraceCondition.truncated.rawValue }
        let fractions = Set(truncated.compactMap(\.fraction)).sorted()
        curve = fractions.map { f in
            let s = TraceConditionSummary(truncated.filter { $0.fraction == f })
            return TraceCurvePoint(fraction: f, consistency: s.consistency, ciLow: s.ciLow, ciHigh: s.ciHigh, n: s.n)
        }
        let x = curve.map(\.fraction), y = curve.map(\.consistency)
        curveArea = curve.count >= 2 ? try Statistics.trapezoidArea(x: x, y: y) : nil
        fractionAt50 = try Statistics.firstCrossing(x: x, y: y, level: 0.5)
        // Logit vs sampled frozen-closed, matched by rollout, sample and source.
        func key(_ r: TraceRow) -> String { "\(r.rolloutId)\u{0}\(r.sample)\u{0}\(r.source)" }
        var sampled: [String: String?] = [:]
        for r in rows where r.condition.hasSuffix(TraceCondition.frozenClosed.rawValue) { sampled[key(r)] = r.answer }
        let pairs = rows.filter { $0.condition.hasSuffix(TraceCondition.logit.rawValue) }.compactMap { r -> Bool? in
            guard let s = sampled[key(r)] else { return nil }
            return s != nil && s == r.answer
        }
        logitAgreement = pairs.isEmpty ? nil : Double(pairs.filter { $0 }.count) / Double(pairs.count)
        logitAgreementN = pairs.isEmpty ? nil : pairs.count
        self.rollouts = rollouts
        self.usableRollouts = usableRollouts
    }

    /// The curve with 95% Wilson bands as an SVG line chart.
    public func curveSVG(title: String = "Consistency with the original answer vs. preserved fraction of the trace") -> String {
        var series = [LineSeries(name: "truncated(f)", x: curve.map(\.fraction), y: curve.map(\.consistency),
                                 lower: curve.map(\.ciLow), upper: curve.map(\.ciHigh))]
        for name in ["frozen-closed", "frozen-open"] {
            if let c = conditions[name], !curve.isEmpty {
                series.append(LineSeries(name: name, x: [0, 1], y: [c.consistency, c.consistency], dashed: true, markers: false))
            }
        }
        return LineChart(series: series, title: title, xLabel: "preserved fraction f of the reasoning",
                         yLabel: "consistency P(y′ = y)", xRange: 0...1, yRange: 0...1,
                         references: [ReferenceLine(0.5, label: "50%")]).svg()
    }

    /// Conditions in a stable, readable order.
    public var orderedConditionNames: [String] {
        let rank: (String) -> (Int, String) = { n in
            let order = ["control", "control:frozen-closed", "control:logit", "frozen-closed", "logit", "frozen-open",
                         "unforced-counterfactual"]
            if let i = order.firstIndex(of: n) { return (i, n) }
            return (order.count, n)
        }
        return conditions.keys.sorted { rank($0) < rank($1) }
    }
}
