import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where a host name leads. "This machine" is decided from the addresses a name resolves to,
/// never from its spelling: `127.example.org` is a name like any other, and may resolve
/// anywhere.
public struct HostResolver: Sendable {
    /// The numeric addresses `host` resolves to (empty when it does not resolve).
    public var addresses: @Sendable (String) -> [String]

    public init(addresses: @escaping @Sendable (String) -> [String]) {
        self.addresses = addresses
    }

    /// Every address of `host` is a loopback one (and there is at least one).
    public func isThisMachine(_ host: String) -> Bool {
        let found = addresses(Self.unbracketed(host))
        return !found.isEmpty && found.allSatisfy(Self.isLoopbackAddress)
    }

    static func unbracketed(_ host: String) -> String {
        host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
    }

    /// 127.0.0.0/8, ::1, and IPv4-mapped 127.x (`::ffff:127.0.0.1`).
    static func isLoopbackAddress(_ address: String) -> Bool {
        let lowered = address.lowercased()
        if lowered == "::1" { return true }
        let v4 = lowered.hasPrefix("::ffff:") ? String(lowered.dropFirst(7)) : lowered
        var parsed = in_addr()
        guard inet_pton(AF_INET, v4, &parsed) == 1 else { return false }
        return UInt32(bigEndian: parsed.s_addr) >> 24 == 127
    }

    /// The system's resolver (getaddrinfo: /etc/hosts, then DNS). Names under `.invalid` never
    /// resolve (RFC 6761), so they are answered without asking anyone.
    public static let system = HostResolver { host in
        if host.lowercased() == "invalid" || host.lowercased().hasSuffix(".invalid") { return [] }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return [] }
        defer { freeaddrinfo(list) }
        var result: [String] = []
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let entry = node {
            var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(entry.pointee.ai_addr, entry.pointee.ai_addrlen, &text, socklen_t(text.count), nil, 0, NI_NUMERICHOST) == 0 {
                result.append(String(decoding: text.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
            node = entry.pointee.ai_next
        }
        return result
    }
}
