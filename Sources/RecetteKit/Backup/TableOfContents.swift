import RecetteWorld
/// The table of contents of a custom-format dump, as `pg_restore --list` prints it.
public struct TableOfContents: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var id: Int
        public var type: String
        public var schema: String
        public var name: String
        public var owner: String
        /// The line exactly as listed, for `--use-list` files.
        public var line: String
    }

    public var archiveCreatedAt: String?
    public var databaseName: String?
    /// e.g. `1.14-0`.
    public var dumpFormatVersion: String?
    public var format: String?
    public var sourceServerVersion: String?
    public var pgDumpVersion: String?
    public var declaredEntryCount: Int?
    public var entries: [Entry]

    /// Multi-word types first, so `TABLE DATA` wins over `TABLE`.
    static let knownTypes: [String] = [
        "TABLE DATA", "FK CONSTRAINT", "SEQUENCE SET", "SEQUENCE OWNED BY", "DEFAULT ACL", "MATERIALIZED VIEW DATA",
        "MATERIALIZED VIEW", "CHECK CONSTRAINT", "BLOB METADATA", "BLOBS", "LARGE OBJECT", "EVENT TRIGGER", "FOREIGN TABLE",
        "TEXT SEARCH CONFIGURATION", "TEXT SEARCH DICTIONARY", "ROW SECURITY", "PUBLICATION TABLE", "USER MAPPING",
        "FOREIGN DATA WRAPPER", "SERVER", "OPERATOR CLASS", "OPERATOR FAMILY", "ACCESS METHOD",
        "TABLE", "INDEX", "CONSTRAINT", "SEQUENCE", "VIEW", "FUNCTION", "PROCEDURE", "AGGREGATE", "TYPE", "DOMAIN",
        "SCHEMA", "EXTENSION", "COMMENT", "ACL", "DEFAULT", "TRIGGER", "RULE", "POLICY", "COLLATION", "CONVERSION",
        "CAST", "OPERATOR", "PUBLICATION", "SUBSCRIPTION", "STATISTICS", "ENCODING", "STDSTRINGS", "SEARCHPATH",
        "DATABASE PROPERTIES", "DATABASE", "INDEX ATTACH", "SHELL TYPE",
    ].sorted { $0.count > $1.count }

    public static func parse(_ listing: String) -> TableOfContents {
        var toc = TableOfContents(entries: [])
        for rawLine in listing.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = String(rawLine)
            if line.hasPrefix(";") {
                let text = line.dropFirst().trimmingCharacters(in: .whitespaces)
                func value(after prefix: String) -> String? {
                    text.hasPrefix(prefix) ? text.dropFirst(prefix.count).trimmingCharacters(in: .whitespaces) : nil
                }
                if let v = value(after: "Archive created at") { toc.archiveCreatedAt = v }
                else if let v = value(after: "dbname:") { toc.databaseName = v }
                else if let v = value(after: "TOC Entries:") { toc.declaredEntryCount = Int(v) }
                else if let v = value(after: "Dump Version:") { toc.dumpFormatVersion = v }
                else if let v = value(after: "Format:") { toc.format = v }
                else if let v = value(after: "Dumped from database version:") { toc.sourceServerVersion = v }
                else if let v = value(after: "Dumped by pg_dump version:") { toc.pgDumpVersion = v }
                continue
            }
            if let entry = parseEntry(line) { toc.entries.append(entry) }
        }
        return toc
    }

    /// `3345; 0 16390 TABLE DATA public answers app_user`
    static func parseEntry(_ line: String) -> Entry? {
        guard let semicolon = line.firstIndex(of: ";"), let id = Int(line[..<semicolon]) else { return nil }
        let words = line[line.index(after: semicolon)...].split(separator: " ", omittingEmptySubsequences: true)
        guard words.count >= 3 else { return nil }
        let afterOIDs = words.dropFirst(2).joined(separator: " ")
        guard let type = knownTypes.first(where: { afterOIDs == $0 || afterOIDs.hasPrefix($0 + " ") }) else { return nil }
        let rest = afterOIDs.dropFirst(type.count).split(separator: " ").map(String.init)
        let schema = rest.first ?? "-"
        let owner = rest.count >= 3 ? rest.last! : ""
        let name = rest.count >= 3 ? rest.dropFirst().dropLast().joined(separator: " ") : (rest.count == 2 ? rest[1] : "")
        return Entry(id: id, type: type, schema: schema, name: name, owner: owner, line: line)
    }

    /// Owner roles named by the entries (what `--keep-owners` would need to create).
    public var ownerRoles: Set<String> { Set(entries.map(\.owner).filter { !$0.isEmpty }) }
}
