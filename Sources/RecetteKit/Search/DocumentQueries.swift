import RecetteWorld

/// The SQL that turns an index definition's query into documents: `recette reindex` runs it,
/// and `recette generate` writes the very same text into populate-with-recette-data.sh (the
/// wrappings once, each query once), so the script and recette read the same documents.
extension SearchIndexDefinition {
    /// Text before and after `subquery`.
    public struct Wrapping: Sendable {
        public let prefix: String
        public let suffix: String

        func around(_ subquery: String) -> String { prefix + subquery + suffix }
    }

    /// How many documents the query gives.
    public static let countWrapping = Wrapping(prefix: "SELECT count(*) FROM (", suffix: ") AS recette_documents")

    /// One JSON document per row and per line. CSV with a quote and a delimiter JSON never
    /// holds raw: the JSON text comes out unescaped (text format would double every backslash).
    public static let copyWrapping = Wrapping(
        prefix: "COPY (SELECT row_to_json(recette_documents) FROM (",
        suffix: ") AS recette_documents) TO STDOUT WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')")

    public var documentCountSQL: String { Self.countWrapping.around(subquery) }
    public var documentCopySQL: String { Self.copyWrapping.around(subquery) }
}
