// swift-tools-version:5.9
import PackageDescription

// On Linux every matrix product goes through OpenBLAS (Debian's libopenblas-dev);
// on Apple platforms Compute uses Accelerate instead and the shim is not needed.
#if os(Linux)
let blas: [Target.Dependency] = ["CBLAS"]
#else
let blas: [Target.Dependency] = []
#endif

// Every target keeps Swift's runtime checks (-O, not -Ounchecked): measured on this project's 2-core
// machine, one thread, CPU time of three alternating runs each, -Ounchecked on TensorKit saved 0.4%
// (prefill+decode, f32 weights), 0.6% (bf16) and 2.2% (selection on the demo model), too little to let a
// size that slipped past validation corrupt memory instead of stopping with a message.
var targets: [Target] = [
    .target(name: "ModelFormats"),
    // Kernels that need AVX2/AVX-512 (compiled per instruction set, picked at run time): C, since Swift
    // has no per-function target features.
    .target(name: "CPUKernels"),
    .target(name: "Compute", dependencies: ["ModelFormats", "CPUKernels"] + blas),
    .target(name: "Tokenizers"),
    .target(name: "ChatTemplates"),
    .target(name: "Models", dependencies: ["Compute", "ModelFormats"]),
    .target(name: "Interventions", dependencies: ["Compute", "ModelFormats", "Models"]),
    .target(name: "Experiments",
            dependencies: ["Compute", "ModelFormats", "Tokenizers", "ChatTemplates", "Models", "Interventions"]),
    .target(name: "SteerCLI",
            dependencies: ["Compute", "ModelFormats", "Tokenizers", "ChatTemplates", "Models", "Interventions",
                           "Experiments"]),
    .executableTarget(name: "steer", dependencies: ["SteerCLI"]),
    .testTarget(name: "ComputeTests", dependencies: ["Compute", "ModelFormats"]),
    // The fuzzing harness (scripts/fuzz.sh): not part of the steer product.
    .target(name: "FuzzKit", dependencies: ["Compute", "ModelFormats", "Tokenizers", "ChatTemplates", "Models", "Experiments"]),
    .executableTarget(name: "steer-fuzz", dependencies: ["FuzzKit"]),
    .testTarget(name: "ModelFormatsTests", dependencies: ["ModelFormats"]),
    .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers"]),
    .testTarget(name: "ChatTemplatesTests", dependencies: ["ChatTemplates"]),
    .testTarget(name: "ModelsTests", dependencies: ["Models", "ModelFormats"]),
    .testTarget(name: "InterventionsTests", dependencies: ["Interventions", "Models", "ModelFormats"]),
    .testTarget(name: "ExperimentsTests", dependencies: ["Experiments", "Interventions", "Models", "ModelFormats", "Tokenizers", "Compute"]),
    .testTarget(name: "SteerCLITests", dependencies: ["SteerCLI", "ModelFormats", "Models", "ChatTemplates"]),
    .testTarget(name: "FuzzKitTests", dependencies: ["FuzzKit"]),
]
#if os(Linux)
targets.append(.systemLibrary(name: "CBLAS", path: "Sources/CBLAS", providers: [.apt(["libopenblas-dev"])]))
#endif

let package = Package(
    name: "Steer",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "steer", targets: ["steer"]),
        .library(name: "SteerKit", targets: ["Compute", "ModelFormats", "Tokenizers", "ChatTemplates", "Models",
                                             "Interventions", "Experiments"]),
    ],
    targets: targets
)
