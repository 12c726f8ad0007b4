import Foundation
import Testing

extension Tag {
    /// Needs `initdb` and a PostgreSQL server (the run's shared cluster, `pg_dump`, `pg_restore`).
    @Tag static var postgres: Self
    /// Needs a Docker engine and Compose v2.
    @Tag static var docker: Self
    /// Takes more than a few seconds on 2 cores, whatever it needs.
    @Tag static var slow: Self
}

/// The unit lane: `RECETTE_UNIT_LANE=1 swift test --skip-build` (README, "Development").
///
/// `swift test` cannot select tests by tag, so each tagged suite or test also carries
/// `.skippedInUnitLane`; and because a forgotten trait must not quietly start a cluster, the
/// shared cluster refuses to start in the lane (`TestEnvironment.startedCluster`).
enum TestLane {
    static let isUnit = ProcessInfo.processInfo.environment["RECETTE_UNIT_LANE"] == "1"
}

extension Trait where Self == ConditionTrait {
    /// Skips a suite or test in the unit lane; its tag (`.postgres`, `.docker`, `.slow`) says why.
    static var skippedInUnitLane: Self {
        .enabled(if: !TestLane.isUnit, "RECETTE_UNIT_LANE=1 runs no test tagged .postgres, .docker or .slow")
    }
}
