import Compute
import Foundation
import ModelFormats

/// A safetensors model folder (single file or sharded) as the weights of a model.
extension WeightStore: TensorSource {
    public var tensorNames: [String] { names }
    public var location: String { folder.path }

    public func rawTensor(_ name: String) throws -> RawTensor {
        let info = try info(name)
        return RawTensor(dtype: info.dtype.rawValue, shape: info.shape, bytes: try rawBytes(name), owner: self)
    }
}

extension ModelLoader {
    /// Loads a model folder's config and safetensors weights (memory-mapped) into `backend`.
    public static func load(directory: URL, precision: WeightPrecision = .f32,
                            backend: ComputeBackend = CPUBackend.shared) throws -> LanguageModel {
        try load(directory: directory, source: WeightStore(folder: directory), precision: precision, backend: backend)
    }
}
