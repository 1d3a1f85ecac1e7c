import XCTest
@testable import SteerCLI

final class OptionParserTests: XCTestCase {
    let spec = CommandSpec(
        name: "demo", summary: "test command",
        positionals: [("DIR", "folder"), ("EXTRA", "optional")], requiredPositionals: 1,
        options: [OptionSpec("--ids", value: "LIST", help: "ids"), OptionSpec("--flag", help: "a flag"),
                  OptionSpec("--n", value: "N", help: "n"), OptionSpec("--tag", value: "T", help: "tag", repeatable: true)])

    func testParsesValuesFlagsAndPositionals() throws {
        let p = try ParsedArguments.parse(["dir", "--ids", "1,2,3", "--flag", "--n=5", "--tag", "a", "--tag", "b", "x"], spec: spec)
        XCTAssertEqual(p.positionals, ["dir", "x"])
        XCTAssertEqual(try p.intList("--ids"), [1, 2, 3])
        XCTAssertTrue(p.flag("--flag"))
        XCTAssertEqual(try p.int("--n"), 5)
        XCTAssertEqual(p.strings("--tag"), ["a", "b"])
    }

    func testNegativeNumbersAreValuesAndDoubleDashEndsOptions() throws {
        let p = try ParsedArguments.parse(["--n", "-3", "--", "--flag"], spec: spec)
        XCTAssertEqual(try p.int("--n"), -3)
        XCTAssertEqual(p.positionals, ["--flag"])
        XCTAssertFalse(p.flag("--flag"))
    }

    func testUsageErrors() {
        XCTAssertThrowsError(try ParsedArguments.parse(["d", "--bogus"], spec: spec)) { e in
            XCTAssertTrue("\(e)".contains("unknown option '--bogus'"))
        }
        XCTAssertThrowsError(try ParsedArguments.parse(["d", "--ids"], spec: spec)) { e in
            XCTAssertTrue("\(e)".contains("needs a value"))
        }
        XCTAssertThrowsError(try ParsedArguments.parse([], spec: spec)) { e in
            XCTAssertTrue("\(e)".contains("missing argument DIR"))
        }
        XCTAssertThrowsError(try ParsedArguments.parse(["a", "b", "c"], spec: spec)) { e in
            XCTAssertTrue("\(e)".contains("unexpected argument 'c'"))
        }
        XCTAssertThrowsError(try ParsedArguments.parse(["d", "--n", "1", "--n", "2"], spec: spec))
        XCTAssertThrowsError(try ParsedArguments.parse(["d", "--flag=1"], spec: spec))
        XCTAssertThrowsError(try ParsedArguments.parse(["d", "--ids", "1,x"], spec: spec).intList("--ids")) { e in
            XCTAssertTrue("\(e)".contains("'x'"))
        }
        XCTAssertThrowsError(try ParsedArguments.parse(["d", "--n", "many"], spec: spec).int("--n"))
    }

    func testIntegersOutOfRangeAreToldApartFromMalformedOnes() throws {
        let p = try ParsedArguments.parse(["d", "--n", "99999999999999999999", "--ids", "3,-2"], spec: spec)
        XCTAssertThrowsError(try p.int("--n")) { XCTAssertEqual("\($0)", "option '--n': 99999999999999999999 is out of range (not a 64-bit integer)") }
        XCTAssertThrowsError(try p.int("--n", range: 1...10)) { XCTAssertTrue("\($0)".contains("out of range (must be in 1...10)"), "\($0)") }
        XCTAssertThrowsError(try p.intList("--ids")) { XCTAssertEqual("\($0)", "option '--ids': -2 is out of range (must be ≥ 0) in '3,-2'") }
        XCTAssertEqual(try p.intList("--ids", range: -5...5), [3, -2])
        for bad in ["12x", "", "+", "1e3", "٣"] {
            XCTAssertThrowsError(try ParsedArguments.parse(["d", "--n", bad], spec: spec).int("--n"), bad) {
                XCTAssertTrue("\($0)".contains("expects an integer, got '\(bad)'"), "\($0)")
            }
        }
        XCTAssertEqual(try ParsedArguments.parse(["d", "--n", "+7"], spec: spec).int("--n"), 7)
        let q = try ParsedArguments.parse(["d", "--n", "0.5"], spec: spec)
        XCTAssertEqual(try q.double("--n", range: 0...1), 0.5)
        XCTAssertThrowsError(try q.double("--n", range: 1...2)) { XCTAssertTrue("\($0)".contains("0.5 is out of range (must be in 1.0...2.0)"), "\($0)") }
        XCTAssertThrowsError(try ParsedArguments.checkTokenIds([1, 300], option: "--ids", vocabularySize: 256)) {
            XCTAssertEqual("\($0)", "option '--ids': token id 300 is out of range (the vocabulary has ids 0...255)")
        }
    }

    func testRequiredOptionsAreMarkedAndEnforced() throws {
        let required = CommandSpec(name: "x", summary: "s", positionals: [("DIR", "d")],
                                   options: [OptionSpec("--out", value: "FILE", help: "output", required: true),
                                             OptionSpec("--n", value: "N", help: "n")])
        XCTAssertEqual(required.usage, "usage: steer x DIR --out FILE [options]")
        XCTAssertTrue(required.help.contains("--out FILE" + String(repeating: " ", count: 14) + "(required) output"), required.help)
        XCTAssertThrowsError(try ParsedArguments.parse(["d", "--n", "1"], spec: required)) {
            XCTAssertEqual("\($0)", "missing required option --out FILE")
        }
        XCTAssertTrue(try ParsedArguments.parse(["--help"], spec: required).helpRequested)
        XCTAssertEqual(try ParsedArguments.parse(["d", "--out=f"], spec: required).string("--out"), "f")
        // Through the entry point: a usage error (64) with the usage line, before any file is read.
        var err = ""
        let console = Console(out: { _ in }, err: { err += $0 })
        XCTAssertEqual(SteerCLI.main(["locality", "/nonexistent/model", "--harmful", "h.json"], console: console), 64)
        XCTAssertTrue(err.contains("missing required option --direction FILE"), err)
        XCTAssertTrue(err.contains("usage: steer locality DIR --direction FILE --harmful FILE --out DIR [options]"), err)
    }

    func testOverviewKeepsNamesApartFromSummaries() {
        let lines = SteerCLI.overview.split(separator: "\n").filter { $0.hasPrefix("  ") }
        XCTAssertEqual(lines.count, SteerCLI.commands.count)
        for (line, command) in zip(lines, SteerCLI.commands) {
            XCTAssertTrue(line.hasPrefix("  \(command.spec.name)  "), String(line))
            XCTAssertTrue(line.hasSuffix(command.spec.summary), String(line))
        }
        // Summaries start in one column.
        XCTAssertEqual(Set(lines.map { $0.count - ($0.drop { $0 == " " }.drop { $0 != " " }.drop { $0 == " " }).count }).count, 1)
    }

    func testEveryComputingCommandTakesThreads() {
        let computing = ["logits", "generate", "capture", "refusal", "locality", "search", "leace", "gradient", "vector", "rollouts", "trace",
                         "articulation", "demo", "bench"]
        for command in SteerCLI.commands {
            let has = command.spec.options.contains { $0.name == "--threads" }
            XCTAssertEqual(has, computing.contains(command.spec.name), command.spec.name)
        }
        var err = ""
        let console = Console(out: { _ in }, err: { err += $0 })
        let model = CommandTests.fixtures.appendingPathComponent("models/llama").path
        XCTAssertEqual(SteerCLI.main(["locality", model, "--direction", "d", "--harmful", "h", "--out", "o", "--threads", "0"], console: console), 64)
        XCTAssertTrue(err.contains("option '--threads': 0 is out of range (must be in 1...1024)"), err)
    }

    func testHelpSkipsPositionalChecksAndListsOptions() throws {
        let p = try ParsedArguments.parse(["--help"], spec: spec)
        XCTAssertTrue(p.helpRequested)
        XCTAssertTrue(spec.help.contains("--ids LIST"))
        XCTAssertTrue(spec.usage.contains("DIR [EXTRA]"))
    }

    func testMainExitCodes() {
        var out = "", err = ""
        let console = Console(out: { out += $0 }, err: { err += $0 })
        XCTAssertEqual(SteerCLI.main([], console: console), 64)
        XCTAssertEqual(SteerCLI.main(["nonsense"], console: console), 64)
        XCTAssertTrue(err.contains("unknown command 'nonsense'"))
        XCTAssertEqual(SteerCLI.main(["info", "--what"], console: console), 64)
        XCTAssertEqual(SteerCLI.main(["--help"], console: console), 0)
        XCTAssertTrue(out.contains("commands:"))
        for command in SteerCLI.commands {
            out = ""
            XCTAssertEqual(SteerCLI.main([command.spec.name, "--help"], console: console), 0)
            XCTAssertTrue(out.contains("usage: steer \(command.spec.name)"), command.spec.name)
        }
        XCTAssertEqual(SteerCLI.main(["info", "/nonexistent/model"], console: console), 1)
        XCTAssertTrue(err.contains("/nonexistent/model"))
    }
}

final class BLASTuningTests: XCTestCase {
    func testAVX512DetectionNeedsEverySubset() {
        XCTAssertTrue(BLASTuning.hasAVX512(cpuinfo: "processor : 0\nflags\t\t: fpu avx2 avx512f avx512dq avx512cd avx512bw avx512vl\n"))
        XCTAssertFalse(BLASTuning.hasAVX512(cpuinfo: "flags\t\t: fpu avx2 avx512f\n"))
        XCTAssertFalse(BLASTuning.hasAVX512(cpuinfo: "no flags here"))
        XCTAssertFalse(BLASTuning.hasAVX512(cpuinfo: nil))
    }
}

final class SplitLinesTests: XCTestCase {
    func testMatchesPythonSplitlinesKeepends() {
        // Python: "a\r\nb\rc\nd\u2028e".splitlines(keepends=True) == ['a\r\n', 'b\r', 'c\n', 'd\u2028', 'e']
        XCTAssertEqual(splitLines("a\r\nb\rc\nd\u{2028}e"), ["a\r\n", "b\r", "c\n", "d\u{2028}", "e"])
        XCTAssertEqual(splitLines("x\n"), ["x\n"])
        XCTAssertEqual(splitLines(""), [])
    }
}
