// scalingo-standin: the Scalingo stand-in of the tests as a process, for benchmarks and for
// trying `recette download` by hand without Scalingo.
//
//   scalingo-standin ARCHIVE [--lifetime SECONDS]
//
// Serves, on 127.0.0.1 only, one app with one PostgreSQL addon holding one `done` backup
// whose archive is ARCHIVE. Prints, as shell KEY=VALUE lines on standard output, what a
// client needs: SCALINGO_API_TOKEN, SCALINGO_APP, ADDON_NAME, SCALINGO_AUTH_URL,
// SCALINGO_API_URL, SCALINGO_DB_URL, then BACKUP_ID and DOWNLOAD_URL (a fresh pre-signed
// URL of the archive, as the database API would give one, valid as long as the server).
// DOWNLOAD_URL is always the last line. Then serves until standard input closes, SIGTERM or
// SIGINT arrives, or the lifetime (default 3600 s) runs out, and exits 0.

import Foundation
import StandIns

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import RecetteWorld

func fail(_ message: String, status: Int32 = 2) -> Never {
    FileHandle.standardError.write(Data("scalingo-standin: \(message)\n".utf8))
    exit(status)
}

var arguments = Array(CommandLine.arguments.dropFirst())
var lifetime: TimeInterval = 3600
if let i = arguments.firstIndex(of: "--lifetime") {
    guard i + 1 < arguments.count, let value = TimeInterval(arguments[i + 1]), value > 0 else {
        fail("--lifetime takes a number of seconds")
    }
    lifetime = value
    arguments.removeSubrange(i...(i + 1))
}
guard arguments.count == 1, !arguments[0].hasPrefix("-") else {
    fail("usage: scalingo-standin ARCHIVE [--lifetime SECONDS]")
}
let archive = URL(fileURLWithPath: arguments[0]).standardizedFileURL
var isDirectory: ObjCBool = false
guard FileManager.default.fileExists(atPath: archive.path, isDirectory: &isDirectory), !isDirectory.boolValue else {
    fail("\(archive.path) is not a file")
}

let app = "recette-bench"
let addonID = "ad-00000000-bench-0000-0000-000000000001"
let backupID = "b-bench"
let standIn: ScalingoStandIn
do {
    standIn = try ScalingoStandIn()
} catch {
    fail("cannot start the stand-in: \(error)", status: 1)
}
// URLs handed out stay valid as long as the server lives.
standIn.downloadURLLifetime = lifetime + 60
standIn.addApp(app, addons: [.postgresql(id: addonID)])
standIn.setBackups(
    [.init(id: backupID, createdAt: Date(), name: "bench_\(app)", archive: archive)], forAddon: addonID)
guard let downloadURL = standIn.presignedDownloadURL(addonID: addonID, backupID: backupID) else {
    fail("the stand-in gave no download URL", status: 1)
}

/// Single-quoted for the shell.
func quoted(_ value: String) -> String { "'" + value.replacingOccurrences(of: "'", with: "'\\''") + "'" }

var lines: [(String, String)] = [
    ("SCALINGO_API_TOKEN", ScalingoStandIn.defaultAPIToken),
    ("SCALINGO_APP", app),
    ("ADDON_NAME", addonID),
]
lines += standIn.environment.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
lines += [("BACKUP_ID", backupID), ("DOWNLOAD_URL", downloadURL.absoluteString)]
// Unbuffered: the reader waits for these lines while the server runs.
FileHandle.standardOutput.write(Data(lines.map { "\($0.0)=\(quoted($0.1))\n" }.joined().utf8))

/// Blocks until SIGTERM/SIGINT (handled on a queue, not in signal context), EOF on standard
/// input, or the end of the lifetime; whichever comes first.
func waitForTheEnd(lifetime: TimeInterval) {
    let done = DispatchSemaphore(value: 0)
    var signalSources: [any DispatchSourceSignal] = []
    for number in [SIGTERM, SIGINT] {
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler { done.signal() }
        source.resume()
        signalSources.append(source)
    }
    let reader = Thread {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(STDIN_FILENO, &buffer, buffer.count)
            if n > 0 { continue }
            if n < 0 && errno == EINTR { continue }
            break  // EOF or error: whoever started us is gone
        }
        done.signal()
    }
    reader.start()
    _ = done.wait(timeout: .now() + lifetime)
    signalSources.forEach { $0.cancel() }
}

waitForTheEnd(lifetime: lifetime)
standIn.stop()
exit(0)
