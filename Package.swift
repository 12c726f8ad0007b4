// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "recette",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "recette", targets: ["recette"]),
        .library(name: "RecetteKit", targets: ["RecetteKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    ],
    targets: [
        .executableTarget(
            name: "recette",
            dependencies: ["RecetteCommands", "RecetteWorld"]
        ),
        // The subcommands (ArgumentParser), thin: each builds a context and calls RecetteKit.
        // A library so that the tests can run them in-process, in a world of their own.
        .target(
            name: "RecetteCommands",
            dependencies: [
                "RecetteKit",
                "RecetteWorld",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The domain: the pipeline, its steps and the three targets. It reaches the outside
        // world only through RecetteWorld, the lower target, which cannot see it back.
        .target(
            name: "RecetteKit",
            dependencies: [
                "RecetteWorld",
                "CZlib",
                "RecetteTemplates",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Mustache", package: "swift-mustache"),
            ]
        ),
        // Settings (typed, validated once), the injected outside world (processes, HTTP,
        // libpq, terminal, files, interrupts) and support code that knows nothing of Strapi,
        // Scalingo or Meilisearch.
        .target(
            name: "RecetteWorld",
            dependencies: [
                "CLibPQ",
                "CCurl",
                "CZlib",
                "CChildGuardian",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // templates/: what `recette generate` renders. The files are compiled into the binary
        // (embedInCode), so an installed `recette` needs no resource bundle or checkout beside it.
        .target(
            name: "RecetteTemplates",
            path: "templates",
            resources: [
                .embedInCode("populate-with-recette-data.sh.mustache"),
                .embedInCode("compose.yaml.mustache"),
                .embedInCode("env.example.mustache"),
            ]
        ),
        // libpq, found through pkg-config: no include paths or linker flags written here.
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"]), .brew(["libpq"])]
        ),
        // libcurl, found the same way: streams backup archives straight to disk (CurlTransport).
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"]), .brew(["curl"])]
        ),
        // zlib, for gzip request bodies (Meilisearch accepts Content-Encoding: gzip).
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]
        ),
        // The process that ends recette's children when recette itself is killed (kill -9):
        // fork-and-wait code that must stay async-signal-safe, hence C.
        .target(name: "CChildGuardian"),
        // Loopback HTTP stand-ins for the services that cannot run here (Scalingo first).
        // Optimised even in a debug build: the tests' Meilisearch and Strapi stand-ins parse and
        // write every document recette sends or reads, and unoptimised they were the largest
        // CPU user of a test run (scripts/test.sh).
        .target(
            name: "StandIns",
            dependencies: ["RecetteKit", "RecetteWorld"],
            path: "Tests/StandIns",
            swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]
        ),
        // The Scalingo stand-in as a process on 127.0.0.1, for scripts/bench-download.sh.
        .executableTarget(
            name: "scalingo-standin",
            dependencies: ["StandIns"],
            path: "Benchmarks/ScalingoStandInServer"
        ),
        // The Strapi plugin's reindex strategy (offset pages, one POST each), for scripts/bench-reindex.sh.
        .executableTarget(
            name: "plugin-strategy-baseline",
            dependencies: ["RecetteKit", "RecetteWorld"],
            path: "Benchmarks/PluginStrategyBaseline"
        ),
        // The Meilisearch stand-in as a process on 127.0.0.1, for benchmarks.
        .executableTarget(
            name: "meilisearch-standin",
            dependencies: ["StandIns"],
            path: "Benchmarks/MeilisearchStandInServer"
        ),
        .testTarget(
            name: "RecetteKitTests",
            dependencies: ["RecetteCommands", "RecetteKit", "RecetteWorld", "RecetteTemplates", "StandIns"]
        ),
    ]
)
