import Foundation

/// The checkpoint tensors of a routed-experts MLP, as its family names them.
public struct ExpertTensors: Sendable, Equatable {
    /// `[experts, d]` router weight.
    public var router: String
    /// `[experts]` router bias (gpt-oss).
    public var routerBias: String?
    public var layout: ExpertLayout
    /// `[experts, 2·width]`, columns in the layout's gate/up order (interleaved for gpt-oss).
    public var gateUpBias: String?
    /// `[experts, d]`.
    public var downBias: String?

    public init(router: String, routerBias: String? = nil, layout: ExpertLayout, gateUpBias: String? = nil, downBias: String? = nil) {
        self.router = router; self.routerBias = routerBias; self.layout = layout; self.gateUpBias = gateUpBias; self.downBias = downBias
    }

    /// The tensors that write into the residual stream: every expert's down projection and bias.
    var writers: [(name: String, layout: WriterTensor.Layout)] {
        var out: [(name: String, layout: WriterTensor.Layout)]
        switch layout {
        case .perExpert(_, _, let down): out = down.map { ($0, .columns) }
        case .fusedTransposed(_, let down), .mxfp4(_, let down): out = [(down, .rows)]
        }
        if let b = downBias { out.append((b, .rows)) }
        return out
    }
}

/// How a checkpoint stores its expert matrices.
public enum ExpertLayout: Sendable, Equatable {
    /// One `nn.Linear` weight per expert and projection: gate and up `[width, d]`, down `[d, width]`
    /// (Qwen3-MoE and Mixtral, as published and as transformers' `save_pretrained` writes them).
    case perExpert(gate: [String], up: [String], down: [String])
    /// gpt-oss's fused tensors: `gateUp` `[experts, d, 2·width]` (gate and up columns interleaved:
    /// gate j at 2j, up j at 2j + 1) and `down` `[experts, width, d]`, i.e. transposed `nn.Linear` weights.
    case fusedTransposed(gateUp: String, down: String)
    /// gpt-oss as published: the same matrices in MXFP4, `<name>_blocks` `[experts, out, in/32, 16]` (two
    /// E2M1 values per byte, low nibble first) and `<name>_scales` `[experts, out, in/32]` (E8M0), in
    /// `nn.Linear` orientation (out = 2·width interleaved for `gateUp`, d for `down`). `gateUp` and `down`
    /// are the names without the suffixes, the names transformers gives the dequantized parameters.
    case mxfp4(gateUp: String, down: String)
}

extension ExpertLayout {
    /// The suffixes of an MXFP4 tensor pair.
    public static let blocksSuffix = "_blocks", scalesSuffix = "_scales"
}
