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
