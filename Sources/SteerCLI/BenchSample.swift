import Foundation

/// The runs of one benchmark figure: median and spread, for one side of a comparison.
struct BenchSample {
    var values: [Double]

    init(_ values: [Double]) { self.values = values }

    var median: Double {
        let s = values.sorted()
        guard !s.isEmpty else { return .nan }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    var min: Double { values.min() ?? .nan }
    var max: Double { values.max() ?? .nan }

    /// `12.3 [11.9–12.8]` (median [min–max]), or the one value.
    var text: String {
        values.count > 1 ? String(format: "%.1f [%.1f–%.1f]", median, min, max) : String(format: "%.1f", median)
    }

    /// `key`, `key_min`, `key_max` and `key_runs` into a figures dictionary.
    func record(_ key: String, into figures: inout [String: Double]) {
        figures[key] = median
        figures[key + "_min"] = min
        figures[key + "_max"] = max
        figures[key + "_runs"] = Double(values.count)
    }
}

/// The machine a benchmark ran on, for the report: CPU model, cores, load.
enum BenchMachine {
    /// The CPU's model name from /proc/cpuinfo (or the architecture).
    static var cpuModel: String {
        let info = BLASTuning.readProcFile("/proc/cpuinfo") ?? ""
        for line in info.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") { return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces) }
        }
        #if arch(x86_64)
        return "x86_64"
        #else
        return "arm64"
        #endif
    }

    /// The 1-minute load average (other processes competing for the cores), or nil.
    static var loadAverage: Double? {
        BLASTuning.readProcFile("/proc/loadavg")?.split(separator: " ").first.flatMap { Double($0) }
    }
}
