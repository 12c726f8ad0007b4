// The templates `recette generate` renders, compiled into the binary.
//
// Package.swift declares each `.mustache` file of this directory as an `embedInCode`
// resource: SwiftPM turns its bytes into a static array of `PackageResources`. An installed
// `recette` (a copied binary, no checkout, no resource bundle beside it) therefore renders
// exactly what the repository's templates say, and a change to a template rebuilds the target.

/// One template: its file name in `templates/` and its text.
public struct BundledTemplate: Sendable, Equatable {
    public let name: String
    public let text: String

    public init(name: String, text: String) {
        self.name = name
        self.text = text
    }
}

public enum BundledTemplates {
    public static let populateScript = BundledTemplate(
        name: "populate-with-recette-data.sh.mustache", text: String(decoding: PackageResources.populate_with_recette_data_sh_mustache, as: UTF8.self))
    public static let compose = BundledTemplate(
        name: "compose.yaml.mustache", text: String(decoding: PackageResources.compose_yaml_mustache, as: UTF8.self))
    public static let envExample = BundledTemplate(
        name: "env.example.mustache", text: String(decoding: PackageResources.env_example_mustache, as: UTF8.self))
}
