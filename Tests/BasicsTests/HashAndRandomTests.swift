import XCTest
import Basics

final class HashAndRandomTests: XCTestCase {
    /// The reference test vectors of FNV-1a 64 (Fowler, Noll, Vo: "FNV test vectors").
    func testFNV1aReferenceVectors() {
        XCTAssertEqual(FNV1a.hash([UInt8]()), 0xcbf2_9ce4_8422_2325)
        XCTAssertEqual(FNV1a.hash("a".utf8), 0xaf63_dc4c_8601_ec8c)
        XCTAssertEqual(FNV1a.hash("foobar".utf8), 0x8594_4171_f739_67e8)
        var h = FNV1a()
        h.update("foo".utf8)
        h.update("bar".utf8)
        XCTAssertEqual(h.value, FNV1a.hash("foobar".utf8))
    }

    /// SplitMix64's outputs are pinned against Python in ExperimentsTests (prompt splits); here the
    /// uniform draws it is used for.
    func testSplitMixDrawsAreInRangeAndReproducible() {
        var a = SplitMix64(seed: 7), b = SplitMix64(seed: 7)
        for bound in [1, 2, 3, 7, 1000, Int.max] {
            let x = a.index(below: bound)
            XCTAssertTrue((0..<bound).contains(x))
            XCTAssertEqual(x, b.index(below: bound))
        }
        XCTAssertEqual(SplitMix64.permutation(count: 50, seed: 3).sorted(), Array(0..<50))
        XCTAssertEqual(SplitMix64.permutation(count: 0, seed: 3), [])
    }
}
