// Model folders: single file, sharded with index (written by transformers), unindexed.
import Foundation
import XCTest
@testable import ModelFormats

final class WeightStoreTests: XCTestCase {
    let sharded = Fixtures.url("sharded")

    func copyShardedFolder() throws -> TemporaryFolder {
        let tmp = try TemporaryFolder()
        for name in try FileManager.default.contentsOfDirectory(atPath: sharded.path) {
            try FileManager.default.copyItem(at: sharded.appendingPathComponent(name), to: tmp.file(name))
        }
        return tmp
    }

    func testShardedFolderWrittenByTransformers() throws {
        let expected = try Fixtures.section("sharded")
        let store = try WeightStore(folder: sharded)
        XCTAssertEqual(store.layout, .sharded)
        let weightMap = try XCTUnwrap(expected["weight_map"] as? [String: String])
        XCTAssertEqual(store.names, weightMap.keys.sorted())
        XCTAssertGreaterThan(store.files.count, 1)
        for (name, shard) in weightMap {
            XCTAssertEqual(try store.fileName(containing: name), shard)
            XCTAssertTrue(store.contains(name))
            XCTAssertEqual(try store.dtype(name), .bf16)
        }
        let shapes = try XCTUnwrap(expected["shapes"] as? [String: [Int]])
        for (name, shape) in shapes { XCTAssertEqual(try store.shape(name), shape, name) }
        XCTAssertEqual(store.parameterCount, expected["parameter_count"] as? Int)
        XCTAssertEqual(store.tensorByteCount, store.index?.totalSize)
        XCTAssertEqual(store.fileByteCount, try store.files.reduce(0) {
            $0 + (try FileManager.default.attributesOfItem(atPath: $1.path)[.size] as? Int ?? -1)
        })
        let values = try XCTUnwrap(expected["values"] as? [String: Any])
        for (name, v) in values { XCTAssertEqual(try store.floats(name), try Fixtures.floats(v), name) }
        XCTAssertEqual(store.inputURLs.count, store.files.count + 1)
    }

    func testIndexRendersAsTransformersWritesIt() throws {
        let url = sharded.appendingPathComponent(WeightStore.indexFileName)
        let index = try ShardIndex.read(url)
        XCTAssertEqual(index.jsonText(), try String(contentsOf: url, encoding: .utf8))
    }

    func testTensorNotFoundNamesTensorAndFolder() throws {
        let store = try WeightStore(folder: sharded)
        XCTAssertFalse(store.contains("model.layers.9.mlp.up_proj.weight"))
        XCTAssertThrowsError(try store.floats("model.layers.9.mlp.up_proj.weight")) { error in
            XCTAssertEqual(error as? FormatError,
                           .tensorNotFound(path: self.sharded.path, tensor: "model.layers.9.mlp.up_proj.weight"))
        }
    }

    func testMissingShardIsAnError() throws {
        let tmp = try copyShardedFolder()
        let index = try ShardIndex.read(tmp.file(WeightStore.indexFileName))
        let victim = try XCTUnwrap(Set(index.weightMap.values).sorted().last)
        try FileManager.default.removeItem(at: tmp.file(victim))
        XCTAssertThrowsError(try WeightStore(folder: tmp.url)) { error in
            XCTAssertEqual(error as? FormatError,
                           .missingShard(path: tmp.file(WeightStore.indexFileName).path, shard: victim))
        }
    }

    func testTensorNotInTheShardTheIndexNames() throws {
        let tmp = try copyShardedFolder()
        var index = try ShardIndex.read(tmp.file(WeightStore.indexFileName))
        let shards = Set(index.weightMap.values).sorted()
        let name = try XCTUnwrap(index.weightMap.first { $0.value == shards[0] }?.key)
        index.weightMap[name] = shards[1]
        try index.jsonText().write(to: tmp.file(WeightStore.indexFileName), atomically: false, encoding: .utf8)
        XCTAssertThrowsError(try WeightStore(folder: tmp.url)) { error in
            guard case .invalidIndex(_, let reason)? = error as? FormatError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains(name) && reason.contains(shards[1]), reason)
        }
    }

    func testMalformedIndex() throws {
        let tmp = try copyShardedFolder()
        let url = tmp.file(WeightStore.indexFileName)
        for text in ["[]", "{}", #"{"weight_map": []}"#, #"{"weight_map": {"a": 1}}"#, #"{"weight_map": {"a": "../x.safetensors"}}"#, "{"] {
            try text.write(to: url, atomically: false, encoding: .utf8)
            XCTAssertThrowsError(try WeightStore(folder: tmp.url), text) { error in
                guard case .invalidIndex(let path, _)? = error as? FormatError else { return XCTFail("\(error)") }
                XCTAssertEqual(path, url.path)
            }
        }
    }

    func testSingleFileFolder() throws {
        let tmp = try TemporaryFolder()
        try FileManager.default.copyItem(at: Fixtures.url("small_bf16.safetensors"), to: tmp.file("model.safetensors"))
        let store = try WeightStore(folder: tmp.url)
        XCTAssertEqual(store.layout, .single)
        let file = try SafeTensorsFile(url: Fixtures.url("small_bf16.safetensors"))
        XCTAssertEqual(store.names, file.names.sorted())
        XCTAssertEqual(try store.floats("embed.weight"), try file.floats("embed.weight"))
        XCTAssertEqual(try store.info("embed.weight").shape, [5, 3])
        XCTAssertEqual(Array(try store.rawBytes("positions")), Array(try file.rawBytes("positions")))
        XCTAssertNil(store.index)
    }

    func testUnindexedFolderAndDuplicateNames() throws {
        let tmp = try copyShardedFolder()
        try FileManager.default.removeItem(at: tmp.file(WeightStore.indexFileName))
        let store = try WeightStore(folder: tmp.url)
        XCTAssertEqual(store.layout, .unindexed)
        XCTAssertEqual(store.names, try WeightStore(folder: sharded).names)
        let first = try XCTUnwrap(store.files.first?.url)
        try FileManager.default.copyItem(at: first, to: tmp.file("zz-copy.safetensors"))
        XCTAssertThrowsError(try WeightStore(folder: tmp.url)) { error in
            guard case .duplicateTensor(let path, _, let other)? = error as? FormatError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, tmp.file("zz-copy.safetensors").path)
            XCTAssertEqual(other, first.path)
        }
    }

    func testEmptyFolderHasNoWeights() throws {
        let tmp = try TemporaryFolder()
        XCTAssertThrowsError(try WeightStore(folder: tmp.url)) { error in
            XCTAssertEqual(error as? FormatError, .noWeights(path: tmp.url.path))
        }
    }
}
