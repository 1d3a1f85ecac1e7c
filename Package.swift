// swift-tools-version:5.9
import PackageDescription

// On Linux every matrix product goes through OpenBLAS (Debian's libopenblas-dev);
// on Apple platforms Compute uses Accelerate instead and the shim is not needed.
#if os(Linux)
let blas: [Target.Dependency] = ["CBLAS"]
#else
let blas: [Target.Dependency] = []
#endif

// Kernels run without overflow/bounds traps in release; user-input code keeps the default checks.
let fast: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]

var targets: [Target] = [
    .target(name: "ModelFormats"),
    // Kernels that need AVX2/AVX-512 (compiled per instruction set, picked at run time): C, since Swift
    // has no per-function target features.
    .target(name: "CPUKernels"),
    .target(name: "Compute", dependencies: ["ModelFormats", "CPUKernels"] + blas, swiftSettings: fast),
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
    .testTarget(name: "ModelFormatsTests", dependencies: ["ModelFormats"]),
    .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers"]),
    .testTarget(name: "ChatTemplatesTests", dependencies: ["ChatTemplates"]),
    .testTarget(name: "ModelsTests", dependencies: ["Models", "ModelFormats"]),
    .testTarget(name: "InterventionsTests", dependencies: ["Interventions", "Models", "ModelFormats"]),
    .testTarget(name: "ExperimentsTests", dependencies: ["Experiments", "Interventions", "Models", "ModelFormats", "Tokenizers", "Compute"]),
    .testTarget(name: "SteerCLITests", dependencies: ["SteerCLI", "ModelFormats", "Models"]),
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
