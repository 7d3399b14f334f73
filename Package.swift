// swift-tools-version:6.1
import PackageDescription

// One-way dependencies, bottom to top (see README "Architecture"):
// CLibSSH2 → PodiumSSH; PodiumSystem (OS calls) and PodiumCore (values) → Scheduler/Protocol/Store/Grading → Report/Worker → Coordinator → executables.
let package = Package(
    name: "podium",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "podium", targets: ["podium"]),
        .executable(name: "podium-worker", targets: ["podium-worker"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        // YAML with anchors and merges (MLE-bench's agent configs use both): libyaml under a Swift API.
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        // `podium serve` (issue 20): the dashboard's HTTP server, and its Prometheus /metrics. Default traits off
        // (no swift-configuration), to keep the build small.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0", traits: []),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibSSH2",
            pkgConfig: "libssh2",
            providers: [.apt(["libssh2-1-dev"])]
        ),
        .systemLibrary(
            name: "CCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        // OS calls (threads, processes, files, the console, typed errno with EINTR retried once, here): PodiumCore holds values.
        .target(name: "PodiumSystem"),
        .target(name: "PodiumCore", dependencies: ["CCrypto", .product(name: "Yams", package: "Yams")]),
        .target(name: "PodiumScheduler", dependencies: ["PodiumCore"]),
        .target(name: "PodiumProtocol", dependencies: ["PodiumCore", "PodiumSystem"]),
        .target(
            name: "PodiumSSH",
            dependencies: ["CLibSSH2", "PodiumCore", "PodiumSystem", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "PodiumWorker",
            dependencies: ["PodiumCore", "PodiumSystem", "PodiumProtocol", .product(name: "Logging", package: "swift-log")]
        ),
        .target(name: "PodiumStore", dependencies: ["PodiumCore", "PodiumSystem", .product(name: "GRDB", package: "GRDB.swift")]),
        .target(name: "PodiumGrading", dependencies: ["PodiumCore", "PodiumSystem"]),
        .target(name: "PodiumReport", dependencies: ["PodiumCore", "PodiumGrading"]),
        .target(
            name: "PodiumCoordinator",
            dependencies: [
                "PodiumCore", "PodiumSystem", "PodiumScheduler", "PodiumProtocol", "PodiumSSH", "PodiumStore",
                "PodiumGrading", "PodiumReport", "PodiumWorker",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The read-only web dashboard, JSON API and /metrics over the state (`podium serve`).
        .target(
            name: "PodiumDashboard",
            dependencies: [
                "PodiumCoordinator", "PodiumCore", "PodiumSystem", "PodiumStore", "PodiumReport", "PodiumGrading",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "PodiumDST",
            dependencies: ["PodiumCoordinator", "PodiumCore", "PodiumSystem", "PodiumProtocol", "PodiumScheduler", "PodiumStore"]
        ),
        .executableTarget(
            name: "podium",
            dependencies: [
                "PodiumCoordinator", "PodiumDST", "PodiumDashboard", "PodiumCore", "PodiumSystem", "PodiumGrading", "PodiumReport", "PodiumStore", "PodiumSSH", "PodiumWorker", "PodiumScheduler",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "podium-worker",
            dependencies: [
                "PodiumWorker", "PodiumCore", "PodiumSystem", "PodiumProtocol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "PodiumCoreTests", dependencies: ["PodiumCore"]),
        .testTarget(name: "PodiumSchedulerTests", dependencies: ["PodiumScheduler", "PodiumCore"]),
        .testTarget(name: "PodiumProtocolTests", dependencies: ["PodiumProtocol", "PodiumCore", "PodiumSystem"]),
        .testTarget(name: "PodiumStoreTests", dependencies: ["PodiumStore", "PodiumCore", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "PodiumGradingTests", dependencies: ["PodiumGrading", "PodiumCore"]),
        .testTarget(name: "PodiumReportTests", dependencies: ["PodiumReport", "PodiumCore", "PodiumGrading"]),
        .testTarget(
            name: "PodiumCoordinatorTests",
            dependencies: ["PodiumCoordinator", "PodiumDST", "PodiumCore", "PodiumSystem", "PodiumProtocol", "PodiumScheduler", "PodiumStore"]
        ),
        .testTarget(
            name: "PodiumIntegrationTests",
            dependencies: ["PodiumCoordinator", "PodiumDashboard", "PodiumWorker", "PodiumCore", "PodiumSystem", "PodiumStore", "PodiumSSH", "PodiumProtocol"]
        ),
    ]
)
