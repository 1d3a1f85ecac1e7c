import XCTest
@testable import SteerCLI

extension XCTestCase {
    /// Runs `steer args…` through the executable's entry point (`SteerCLI.main`), returning (status, stdout, stderr).
    func steer(_ args: [String]) -> (Int32, String, String) {
        var out = "", err = ""
        let status = SteerCLI.main(args, console: Console(out: { out += $0 }, err: { err += $0 }))
        return (status, out, err)
    }
}
