import Foundation
import Models

/// `config.json` (and `generation_config.json`) of the fixture models, mutated with the keys every
/// family reads, loaded against the fixture's unchanged weights and run (`ModelExercise`).
enum ConfigFuzzer: FuzzTarget {
    static func make(_ c: inout FuzzCase, rng: inout FuzzRandom, seeds: FuzzSeeds) {
        guard let model = rng.pick(seeds.models) else { return }
        let mutator = JSONMutator(vocabulary: vocabulary, insertionPoints: [[], ["rope_scaling"], ["rope_parameters"]])
        var config = FuzzJSON.parse(model.config) ?? .object([])
        config = mutator.mutate(config, count: rng.count(max: 4), rng: &rng)
        var text = config.data(pretty: rng.chance(0.5))
        if rng.chance(0.08) { text = ByteMutator.mutate(text, count: rng.count(max: 3), rng: &rng) }
        c.files["config.json"] = .bytes(text)
        if let gen = model.generation {
            var g = FuzzJSON.parse(gen) ?? .object([])
            if rng.chance(0.15) { g = mutator.mutate(g, count: 1, rng: &rng) }
            c.files["generation_config.json"] = .bytes(g.data())
        }
        linkWeights(of: model, into: &c)
        maybeSpecial(&c, "config.json", p: 0.01, rng: &rng)
        maybeSpecial(&c, rng.pick(model.weights) ?? "model.safetensors", p: 0.02, rng: &rng)
        maybeSpecial(&c, "generation_config.json", p: 0.01, rng: &rng)
        c.params["precision"] = rng.chance(0.2) ? "bf16" : "f32"
    }

    /// Links to the fixture model's unchanged weight files.
    static func linkWeights(of model: FuzzSeeds.Model, into c: inout FuzzCase) {
        for file in model.weights { c.files[file] = .symlink(FuzzCase.fixturePrefix + "models/\(model.name)/\(file)") }
    }

    static func run(_ c: FuzzCase, folder: URL) throws {
        let model = try ModelLoader.load(directory: folder, precision: c.params["precision"] == "bf16" ? .bf16 : .f32)
        try ModelExercise.run(model)
    }

    static func numbers(_ values: String...) -> [FuzzJSON] { values.map { .number($0) } }

    static let ropeVariants: [FuzzJSON] = [
        .null,
        .object([("rope_type", .string("linear")), ("factor", .number("2.0"))]),
        .object([("type", .string("linear")), ("factor", .number("0"))]),
        .object([("rope_type", .string("llama3")), ("factor", .number("8.0")), ("low_freq_factor", .number("1.0")),
                 ("high_freq_factor", .number("4.0")), ("original_max_position_embeddings", .number("64"))]),
        .object([("rope_type", .string("llama3")), ("factor", .number("8.0")), ("low_freq_factor", .number("4.0")),
                 ("high_freq_factor", .number("4.0")), ("original_max_position_embeddings", .number("0"))]),
        .object([("rope_type", .string("longrope")), ("short_factor", .array(Array(repeating: .number("1.0"), count: 4))),
                 ("long_factor", .array(Array(repeating: .number("2.0"), count: 4)))]),
        .object([("rope_type", .string("longrope")), ("short_factor", .array(Array(repeating: .number("1.0"), count: 8))),
                 ("long_factor", .array([.number("-1"), .number("0"), .number("1e400"), .number("1")])), ("attention_factor", .number("0"))]),
        .object([("type", .string("su")), ("short_factor", .array([])), ("long_factor", .array([]))]),
        .object([("rope_type", .string("yarn")), ("factor", .number("4"))]),
        .object([("rope_type", .string("dynamic")), ("factor", .number("2"))]),
        .object([("rope_type", .string("default")), ("rope_theta", .number("1e300")), ("partial_rotary_factor", .number("0.5"))]),
        .object([("full_attention", .object([("rope_type", .string("default")), ("rope_theta", .number("0"))]))]),
    ]

    static let vocabulary: [String: [FuzzJSON]] = [
        "partial_rotary_factor": numbers("0.5", "0.25", "0.3125", "1.0", "2", "4", "16", "-1", "0", "0.0001", "1e-300", "1e400"),
        "head_dim": numbers("8", "15", "16", "17", "32", "0", "-16", "4096", "4098", "1099511627776"),
        "num_hidden_layers": numbers("0", "1", "2", "3", "1000", "1000000000", "1099511627776", "4096", "4097"),
        "num_attention_heads": numbers("1", "2", "3", "4", "8", "0", "-1", "64", "1099511627776"),
        "num_key_value_heads": numbers("1", "2", "3", "4", "8", "0", "-1", "64"),
        "hidden_size": numbers("32", "63", "64", "65", "128", "0", "131073"),
        "intermediate_size": numbers("64", "127", "128", "256", "0", "1000000000"),
        "vocab_size": numbers("255", "256", "257", "1", "0", "2147483648"),
        "rms_norm_eps": numbers("0", "-1e-6", "1e-6", "1e300", "1e-300", "1e-45"),
        "layer_norm_epsilon": numbers("0", "-1e-6", "1e-6", "1e-300"),
        "rope_theta": numbers("10000", "0", "-1", "1", "1e300", "1e-300", "1e39"),
        "rotary_emb_base": numbers("10000", "0", "-1", "1e39"),
        "sliding_window": [.null] + numbers("0", "-1", "1", "2", "4", "4096", "1099511627776"),
        "use_sliding_window": [.bool(true), .bool(false)],
        "max_window_layers": numbers("0", "1", "2", "-1", "1000000000"),
        "layer_types": [.array([.string("full_attention"), .string("sliding_attention")]),
                        .array([.string("sliding_attention"), .string("sliding_attention")]),
                        .array([.string("full_attention")]), .array([]), .array([.string("x"), .string("y")]),
                        .array(Array(repeating: .string("sliding_attention"), count: 3))],
        "rope_scaling": ropeVariants,
        "rope_parameters": ropeVariants,
        "rope_type": [.string("default"), .string("linear"), .string("llama3"), .string("longrope"), .string("yarn")],
        "factor": numbers("0", "-1", "1", "2", "8", "1e-300", "1e400"),
        "low_freq_factor": numbers("1", "0", "4", "-1"),
        "high_freq_factor": numbers("4", "1", "0"),
        "original_max_position_embeddings": numbers("1", "2", "64", "4096", "0", "-5", "1000000000"),
        "max_position_embeddings": numbers("1", "2", "256", "4096", "0", "-1"),
        "attention_factor": numbers("0", "-1", "1", "1e300"),
        "query_pre_attn_scalar": numbers("0", "-1", "16", "1e-300", "1e300"),
        "attn_logit_softcapping": [.null] + numbers("0", "-1", "50", "1e-40", "1e300"),
        "final_logit_softcapping": [.null] + numbers("0", "-1", "30", "1e-40"),
        "hidden_activation": [.string("gelu_pytorch_tanh"), .string("gelu"), .string("silu"), .string("relu"), .number("1")],
        "hidden_act": [.string("silu"), .string("gelu"), .string("x")],
        "tie_word_embeddings": [.bool(true), .bool(false), .string("yes")],
        "kv_channels": numbers("16", "15", "0", "-16", "1099511627776"),
        "rotary_pct": numbers("0.5", "0.25", "0", "2", "-1"),
        "use_dynamic_ntk": [.bool(true), .bool(false)],
        "use_logn_attn": [.bool(true)],
        "seq_length": numbers("0", "1", "2", "-1", "2048"),
        "bos_token_id": [.null, .bool(true), .string("1"), .array([])] + numbers("0", "1", "255", "256", "-1", "9223372036854775808", "1e300"),
        "eos_token_id": [.array([.number("1"), .number("2")]), .array([.bool(true)]), .array([]), .array([.number("1e300")]),
                         .number("256"), .number("-1"), .number("1.5")],
        "model_type": ["llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "phi3", "qwen", "mamba", ""].map(FuzzJSON.string),
        "torch_dtype": [.string("float32"), .string("bfloat16"), .number("5")],
        "dtype": [.string("float16"), .null],
        "attention_bias": [.bool(true), .bool(false)],
        "mlp_bias": [.bool(true)],
    ]
}
