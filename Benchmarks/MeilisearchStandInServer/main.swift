// meilisearch-standin: the Meilisearch stand-in of the tests as a process, for benchmarks and
// for trying recette's search commands by hand without Meilisearch.
//
//   meilisearch-standin [--master-key KEY | --no-master-key] [--payload-limit BYTES]
//                       [--port PORT] [--task-delay-ms MS]
//
// Listens on 127.0.0.1 only (port 0, the default, lets the OS choose) and prints its base URL
// as the first line of standard output, e.g. `http://127.0.0.1:41234`. Then serves until
// SIGTERM or SIGINT arrives, and exits 0. The master key defaults to `masterKey`.

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
    FileHandle.standardError.write(Data("meilisearch-standin: \(message)\n".utf8))
    exit(status)
}

let usage = "usage: meilisearch-standin [--master-key KEY | --no-master-key] [--payload-limit BYTES] [--port PORT] [--task-delay-ms MS]"
var masterKey: String? = "masterKey"
var payloadLimit = 100_000_000
var port = 0
var taskDelay = Duration.zero
var arguments = Array(CommandLine.arguments.dropFirst())
while !arguments.isEmpty {
    let flag = arguments.removeFirst()
    func value() -> String {
        guard !arguments.isEmpty else { fail("\(flag) needs a value\n\(usage)") }
        return arguments.removeFirst()
    }
    switch flag {
    case "--master-key": masterKey = value()
    case "--no-master-key": masterKey = nil
    case "--payload-limit":
        guard let n = Int(value()), n > 0 else { fail("--payload-limit takes a number of bytes") }
        payloadLimit = n
    case "--port":
        guard let n = Int(value()), (0...65535).contains(n) else { fail("--port takes a port number (0 = any free port)") }
        port = n
    case "--task-delay-ms":
        guard let n = Int(value()), n >= 0 else { fail("--task-delay-ms takes a number of milliseconds") }
        taskDelay = .milliseconds(n)
    case "-h", "--help":
        print(usage)
        exit(0)
    default:
        fail("unknown argument \(flag)\n\(usage)")
    }
}

// Handled on a queue, not in signal context.
let done = DispatchSemaphore(value: 0)
var signalSources: [any DispatchSourceSignal] = []
for number in [SIGTERM, SIGINT] {
    signal(number, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
    source.setEventHandler { done.signal() }
    source.resume()
    signalSources.append(source)
}

let standIn: MeilisearchStandIn
do {
    standIn = try MeilisearchStandIn(
        masterKey: masterKey, payloadLimitBytes: payloadLimit, taskProcessingDelay: taskDelay, port: port)
} catch {
    fail("cannot start the stand-in: \(error)", status: 1)
}
// Unbuffered: whoever started us waits for this line.
FileHandle.standardOutput.write(Data("\(standIn.baseURL.absoluteString)\n".utf8))

done.wait()
standIn.stop()
exit(0)
