import RecetteWorld

/// The SQL that turns an index definition's query into documents: `recette reindex` runs it,
/// and `recette generate` writes the very same text into populate-with-recette-data.sh, so
/// the script and recette read the same documents.
extension SearchIndexDefinition {
    /// How many documents the query gives.
    public var documentCountSQL: String {
        "SELECT count(*) FROM (\(subquery)) AS recette_documents"
    }

    /// One JSON document per row and per line. CSV with a quote and a delimiter JSON never
    /// holds raw: the JSON text comes out unescaped (text format would double every backslash).
    public var documentCopySQL: String {
        """
        COPY (SELECT row_to_json(recette_documents) FROM (\(subquery)) AS recette_documents) \
        TO STDOUT WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')
        """
    }
}
