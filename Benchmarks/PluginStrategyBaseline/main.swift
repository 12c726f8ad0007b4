// The Strapi Meilisearch plugin's reindex strategy, reproduced for scripts/bench-reindex.sh:
// read the documents 500 rows at a time by OFFSET, POST each page as one JSON array, never
// wait for a task between pages; at the end, wait until Meilisearch has indexed everything
// (so the figure is comparable with recette's, which ends with every task succeeded).
//
//   plugin-strategy-baseline DATABASE_URL MEILISEARCH_URL INDEX PRIMARY_KEY QUERY [PAGE_SIZE]
//
// The Meilisearch key, if any, comes from MEILI_KEY in the environment. Prints one line:
// "documents=N seconds=S pages=P".
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import RecetteKit

let arguments = CommandLine.arguments
guard arguments.count >= 6 else {
    FileHandle.standardError.write(Data("usage: plugin-strategy-baseline DATABASE_URL MEILISEARCH_URL INDEX PRIMARY_KEY QUERY [PAGE_SIZE]\n".utf8))
    exit(2)
}
let (databaseURL, meilisearchURL, index, primaryKey, query) = (arguments[1], URL(string: arguments[2])!, arguments[3], arguments[4], arguments[5])
let pageSize = arguments.count > 6 ? Int(arguments[6]) ?? 500 : 500
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
// The plugin's loop: for (index = 0; index < count; index += batchSize), offset/limit reads.
var offset = 0
while offset < count {
    let page = try connection.query("SELECT coalesce(json_agg(row_to_json(q))::text, '[]') AS page FROM (SELECT * FROM (\(subquery)) AS s ORDER BY s.id LIMIT $1 OFFSET $2) AS q",
                                    [String(pageSize), String(offset)]).scalar ?? "[]"
    lastTask = try await post(Data(page.utf8))
    sent += min(pageSize, count - offset)
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
