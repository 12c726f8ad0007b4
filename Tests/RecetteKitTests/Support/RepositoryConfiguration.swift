import Foundation

/// This repository's committed configuration, for the tests that run on it: `recette.yml`
/// names the sample's CMS source (`strapi.project: sample-cms`), whose model gives the
/// indexes, so the two are copied together.
enum RepositoryConfiguration {
    static func copy(into directory: URL) throws {
        for item in ["recette.yml", "sample-cms"] {
            try FileManager.default.copyItem(at: TestEnvironment.packageRoot.appendingPathComponent(item), to: directory.appendingPathComponent(item))
        }
    }
}
