// The Strapi Meilisearch plugin's reindex strategy, reproduced for scripts/bench-reindex.sh:
// pages of 500 entries read the way Strapi's entity service reads them (the page's ids by
// LIMIT/OFFSET on the content type's table, then the entries and their components for those
// ids), each page POSTed as one JSON array, never waiting for a task between pages; at the end,
// wait until Meilisearch has indexed everything (so the figure is comparable with recette's,
// which ends with every task succeeded). What the real plugin adds on top (Strapi's
// sanitising and serialising in JavaScript) is not reproduced: this loop is faster than the
// plugin, never slower.
//
//   plugin-strategy-baseline DATABASE_URL MEILISEARCH_URL INDEX PRIMARY_KEY QUERY TABLE [PAGE_SIZE]
//
// QUERY is the index's document query (recette.yml); its `id` column is the entry id of TABLE.
// The Meilisearch key, if any, comes from MEILI_KEY in the environment. Prints one line:
// "documents=N seconds=S pages=P".
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import RecetteKit
import RecetteWorld

let arguments = CommandLine.arguments
guard arguments.count >= 7, let meilisearchURL = URL(string: arguments[2]) else {
    FileHandle.standardError.write(Data("usage: plugin-strategy-baseline DATABASE_URL MEILISEARCH_URL INDEX PRIMARY_KEY QUERY TABLE [PAGE_SIZE]\n".utf8))
    exit(2)
}
let (databaseURL, index, primaryKey, query, table) = (arguments[1], arguments[3], arguments[4], arguments[5], arguments[6])
let pageSize = arguments.count > 7 ? Int(arguments[7]) ?? 500 : 500
let key = ProcessInfo.processInfo.environment["MEILI_KEY"]

func post(_ body: Data) async throws -> Int {
    var components = URLComponents(url: meilisearchURL.appendingPathComponent("indexes/\(index)/documents"), resolvingAgainstBaseURL: false)!
    components.queryItems = [URLQueryItem(name: "primaryKey", value: primaryKey)]
    var request = URLRequest(url: components.url!)
    request.httpMethod = "POST"
    request.httpBody = body
    request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    if let key { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
    let (data, response) = try await URLSession.shared.data(for: request)
    guard let http = response as? HTTPURLResponse, http.statusCode == 202,
          let reply = try JSONSerialization.jsonObject(with: data) as? [String: Any], let task = reply["taskUid"] as? Int else {
        throw RecetteFailure("POST documents: \(String(decoding: data.prefix(300), as: UTF8.self))")
    }
    return task
}

func taskStatus(_ uid: Int) async throws -> String {
    var request = URLRequest(url: meilisearchURL.appendingPathComponent("tasks/\(uid)"))
    if let key { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
    let (data, _) = try await URLSession.shared.data(for: request)
    return (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["status"] as? String ?? "?"
}

let clock = ContinuousClock()
let started = clock.now
let connection = try PostgresConnection(url: databaseURL)
let subquery = query.trimmingCharacters(in: .whitespacesAndNewlines).trimmingCharacters(in: CharacterSet(charactersIn: ";"))
let count = Int(try connection.query("SELECT count(*) FROM (\(subquery)) AS q").scalar ?? "0") ?? 0
var sent = 0
var pages = 0
var lastTask: Int?
// The plugin's loop: for (index = 0; index < count; index += batchSize), each page read like
// Strapi's findMany({ start, limit, populate }): the ids by offset, then the entries by id.
let quotedTable = PostgresConnection.quoteIdentifier(table)
var offset = 0
while offset < count {
    let ids = try connection.query("SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') AS ids FROM (SELECT id FROM \(quotedTable) WHERE published_at IS NOT NULL ORDER BY id LIMIT $1 OFFSET $2) AS p",
                                   [String(pageSize), String(offset)]).scalar ?? ""
    if ids.isEmpty { break }
    let page = try connection.query("SELECT coalesce(json_agg(row_to_json(q) ORDER BY q.id)::text, '[]') AS page FROM (\(subquery)) AS q WHERE q.id = ANY(string_to_array($1, ',')::bigint[])",
                                    [ids]).scalar ?? "[]"
    lastTask = try await post(Data(page.utf8))
    sent += ids.split(separator: ",").count
    pages += 1
    offset += pageSize
}
// Bounded wait for the last task (tasks of one index run in order).
if let lastTask {
    for _ in 0..<600_000 {
        let status = try await taskStatus(lastTask)
        if status == "succeeded" || status == "failed" || status == "canceled" { break }
        try await Task.sleep(for: .milliseconds(10))
    }
}
let seconds = (clock.now - started).seconds
print("documents=\(sent) seconds=\(String(format: "%.3f", seconds)) pages=\(pages)")
